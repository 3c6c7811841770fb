"""What the stream did with a tenant's events, read from the tenant's own schema."""

from __future__ import annotations

from datetime import datetime, timedelta

from warehouse.postgres.database import Database
from warehouse.postgres.tenants import TenantRecord
from warehouse.postgres.usage import (
    DuplicateConflict, duplicate_counts, list_dead_letters, list_duplicate_conflicts, pending_corrections,
)

from ..domain_errors import FieldProblem, InvalidInput

__all__ = ["dead_letters", "duplicates_range", "duplicates_per_minute", "duplicate_conflicts", "digest_text",
           "corrections"]

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


async def duplicate_conflicts(database: Database, tenant: TenantRecord, start: datetime, end: datetime,
                              limit: int) -> list[DuplicateConflict]:
    async with database.connect() as conn:
        return await list_duplicate_conflicts(conn, tenant.id, start, end, limit)


def digest_text(digest: int) -> str:
    """A stored digest (a signed bigint) as the 16 hex digits of its 64 bits."""
    return format(digest & 0xFFFF_FFFF_FFFF_FFFF, "016x")


async def corrections(database: Database, tenant: TenantRecord):
    async with database.connect() as conn:
        return await pending_corrections(conn, tenant.id)
