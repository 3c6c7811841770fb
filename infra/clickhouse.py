"""ClickHouse: chDB in the run directory by default, a server when a URL is set.

chDB has no server mode and one process owns its directory, so `infra up` starts
nothing for it: the stream worker opens it (see infra/README.md for why).
"""

from __future__ import annotations

from meterline.settings import Settings

from .processes import InfraError

__all__ = ["check_clickhouse"]


def check_clickhouse(settings: Settings) -> str:
    if settings.clickhouse_is_embedded:
        (settings.run_dir / "clickhouse").mkdir(parents=True, exist_ok=True)
        return f"chDB at {settings.run_dir / 'clickhouse'} (opened by the stream worker)"
    import clickhouse_connect

    try:
        client = clickhouse_connect.get_client(dsn=settings.clickhouse.url)
        version = client.server_version
        client.close()
    except Exception as exc:  # noqa: BLE001 - name the service in whatever went wrong
        raise InfraError(f"clickhouse: {settings.clickhouse.url} does not answer: {exc}") from exc
    return f"ClickHouse server {version} at {settings.clickhouse.url}"
