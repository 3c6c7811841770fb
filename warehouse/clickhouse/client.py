"""The one ClickHouse client factory: the embedded host by default, HTTP for a server URL.

With METERLINE_CLICKHOUSE__URL set, every process uses clickhouse-connect's own HTTP
client against that server. Without it, chDB is owned by the embedded-ClickHouse host
(`meterline serve clickhouse`, started by `meterline infra up`; infra/README.md says
why) and every process, stream workers and API alike, talks to it through `HostClient`,
which offers the same query/insert/command calls. Sinks, readers and DDL see no difference.
"""

from __future__ import annotations

import clickhouse_connect

from meterline.settings import ClickHouseSettings

from .ddl import create_tables
from .host_client import HostClient

__all__ = ["open_clickhouse"]


def open_clickhouse(config: ClickHouseSettings):
    """Open the client and make sure the tables exist."""
    if config.is_embedded:
        client = HostClient(config.host_url)
    else:
        client = clickhouse_connect.get_client(dsn=config.url)
    create_tables(client, config.database)
    return client
