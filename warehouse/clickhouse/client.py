"""The one ClickHouse client factory: chDB for a chdb:// DSN, HTTP for a server URL."""

from __future__ import annotations

import clickhouse_connect

from meterline.settings import Settings

from .ddl import create_tables

__all__ = ["open_clickhouse"]


def open_clickhouse(settings: Settings):
    """Open the client and make sure the tables exist.

    With the embedded default only one process may call this: the stream worker
    (see infra/README.md); everything else reads through the worker.
    """
    if settings.clickhouse_is_embedded:
        (settings.run_dir / "clickhouse").mkdir(parents=True, exist_ok=True)
        client = clickhouse_connect.get_client(dsn=settings.clickhouse_dsn)
    else:
        client = clickhouse_connect.get_client(dsn=settings.clickhouse.url)
    create_tables(client, settings.clickhouse.database)
    return client
