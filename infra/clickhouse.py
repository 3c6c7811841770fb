"""ClickHouse: chDB in the run directory, owned by the embedded host; or a server when a URL is set.

chDB has no server mode and one process owns its directory, so `infra up` starts a
process that owns it and serves what the others need (`meterline serve clickhouse`,
warehouse/clickhouse/host.py; infra/README.md says why).
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from meterline.settings import Settings
from warehouse.clickhouse.host_secret import ensure_secret

from .processes import InfraError, ManagedProcess

__all__ = ["check_clickhouse", "clickhouse_host_process"]


def clickhouse_host_process(settings: Settings) -> ManagedProcess:
    url = settings.clickhouse_host_url
    return ManagedProcess(
        name="clickhouse-host",
        command=[str(Path(sys.executable).with_name("meterline")), "serve", "clickhouse"],
        # Not inside .run/clickhouse: that directory is chDB's own.
        state_dir=settings.run_dir / "clickhouse-host",
        # /ping answers 200 only once chDB has opened the directory.
        ready=lambda: httpx.get(f"{url}/ping", timeout=1.0).status_code == 200,
        port=settings.clickhouse.port,
        start_timeout_s=60,
    )


def check_clickhouse(settings: Settings) -> str:
    if settings.clickhouse_is_embedded:
        ensure_secret(settings.clickhouse_host_secret_file)  # the host refuses every query without it
        clickhouse_host_process(settings).start()
        return f"chDB at {settings.run_dir / 'clickhouse'}, served at {settings.clickhouse_host_url}"
    import clickhouse_connect

    try:
        client = clickhouse_connect.get_client(dsn=settings.clickhouse.url)
        version = client.server_version
        client.close()
    except Exception as exc:  # noqa: BLE001 - name the service in whatever went wrong
        raise InfraError(f"clickhouse: {settings.clickhouse.url} does not answer: {exc}") from exc
    return f"ClickHouse server {version} at {settings.clickhouse.url}"
