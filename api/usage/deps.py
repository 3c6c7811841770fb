"""Where usage is read from.

- `UsageReaderDep`: the analytics store (ClickHouse via warehouse.clickhouse), built
  once per app on first use and overridable in tests.
- `PostgresUsageReaderDep`: the billing store, the tenant's PostgreSQL schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from ..domain_errors import Unavailable
from .postgres_source import PostgresUsageReader
from .service import UsageReader

T = TypeVar("T")

__all__ = ["UsageReaderDep", "PostgresUsageReaderDep", "get_usage_reader", "get_postgres_usage_reader",
           "opened_once"]


def opened_once(request: Request, name: str, open_store: Callable[[], T]) -> T:
    """The app's `name` store, opened on first use and kept on app.state. Lazy: the
    ClickHouse client (a server's, or the embedded host's) is built when first needed,
    so the API starts, and serves everything else, without it."""
    state = request.app.state
    store = getattr(state, name, None)
    if store is None:
        try:
            store = open_store()
        except Exception as exc:  # noqa: BLE001 - whatever the store's client raises, the answer is 503
            raise Unavailable("the usage store is not reachable") from exc
        setattr(state, name, store)
    return store


def get_usage_reader(request: Request) -> UsageReader:
    return opened_once(request, "usage_reader", request.app.state.wiring.open_usage_reader)


UsageReaderDep = Annotated[UsageReader, Depends(get_usage_reader)]


def get_postgres_usage_reader(request: Request) -> PostgresUsageReader:
    return PostgresUsageReader(request.app.state.engine)


PostgresUsageReaderDep = Annotated[PostgresUsageReader, Depends(get_postgres_usage_reader)]
