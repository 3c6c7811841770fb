"""A tenant's late-usage corrections, pending and applied, newest first, paged by cursor."""

from __future__ import annotations

from warehouse.postgres.billing_history import CorrectionHistoryRecord, list_correction_history
from warehouse.postgres.database import Database
from warehouse.postgres.tenants import TenantRecord

from ..fields import MAX_ROW_ID
from ..cursor_query import bad_cursor, cursor_key
from ..usage.cursor import encode_cursor

__all__ = ["corrections_page"]

_APPLIED = {"all": None, "pending": False, "applied": True}


def _before_id(cursor: str | None) -> int | None:
    key = cursor_key(cursor, int)
    if key is not None and not 1 <= key[0] <= MAX_ROW_ID:
        raise bad_cursor()
    return key[0] if key else None


async def corrections_page(database: Database, tenant: TenantRecord, state: str, limit: int,
                           cursor: str | None) -> tuple[list[CorrectionHistoryRecord], str | None]:
    async with database.connect() as conn:
        rows = await list_correction_history(conn, tenant.id, limit + 1, _before_id(cursor), _APPLIED[state])
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor((rows[-1].id,)) if more else None
