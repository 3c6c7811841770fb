"""What the stream did with a tenant's events, read from the tenant's own schema."""

from __future__ import annotations

from datetime import datetime, timedelta

from warehouse.postgres.database import Database
from warehouse.postgres.tenants import TenantRecord
from warehouse.postgres.usage import duplicate_counts, list_dead_letters, pending_corrections

from ..domain_errors import FieldProblem, InvalidInput

__all__ = ["dead_letters", "duplicates_range", "duplicates_per_minute", "corrections"]

DEFAULT_DUPLICATES_SPAN = timedelta(days=1)


def duplicates_range(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """`to` defaults to now and `from` to a day before `to`; both must carry an offset."""
    end = end or now
    start = start or end - DEFAULT_DUPLICATES_SPAN
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("from and to need a UTC offset",
                           problems=[FieldProblem("from/to", "naive datetime", "query")])
    return start, end


async def dead_letters(database: Database, tenant: TenantRecord, limit: int, before_id: int | None):
    async with database.connect() as conn:
        return await list_dead_letters(conn, tenant.id, limit, before_id)


async def duplicates_per_minute(database: Database, tenant: TenantRecord, start: datetime,
                                end: datetime) -> list[tuple[datetime, int]]:
    async with database.connect() as conn:
        return await duplicate_counts(conn, tenant.id, start, end)


async def corrections(database: Database, tenant: TenantRecord):
    async with database.connect() as conn:
        return await pending_corrections(conn, tenant.id)
