"""Where usage is read from.

- `UsageReaderDep`: the analytics store (ClickHouse via warehouse.clickhouse), built
  once per app on first use and overridable in tests.
- `PostgresUsageReaderDep`: the billing store, the tenant's PostgreSQL schema.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..domain_errors import Unavailable
from .postgres_source import PostgresUsageReader
from .service import UsageReader

__all__ = ["UsageReaderDep", "PostgresUsageReaderDep", "get_usage_reader", "get_postgres_usage_reader"]


def get_usage_reader(request: Request) -> UsageReader:
    state = request.app.state
    reader = getattr(state, "usage_reader", None)
    if reader is None:
        # Lazy: the ClickHouse client (a server's, or the embedded host's) is built on
        # first use, so the API starts, and serves everything else, without it.
        try:
            reader = state.wiring.open_usage_reader()
        except Exception as exc:  # noqa: BLE001 - whatever the store's client raises, the answer is 503
            raise Unavailable("the usage store is not reachable") from exc
        state.usage_reader = reader
    return reader


UsageReaderDep = Annotated[UsageReader, Depends(get_usage_reader)]


def get_postgres_usage_reader(request: Request) -> PostgresUsageReader:
    return PostgresUsageReader(request.app.state.engine)


PostgresUsageReaderDep = Annotated[PostgresUsageReader, Depends(get_postgres_usage_reader)]
