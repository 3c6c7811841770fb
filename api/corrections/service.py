"""A tenant's late-usage corrections, pending and applied, newest first, paged by cursor."""

from __future__ import annotations

from warehouse.postgres.billing_history import CorrectionHistoryRecord, list_correction_history
from warehouse.postgres.database import Database
from warehouse.postgres.tenants import TenantRecord

from ..domain_errors import FieldProblem, InvalidInput
from ..fields import MAX_ROW_ID
from ..usage.cursor import InvalidCursor, decode_cursor, encode_cursor

__all__ = ["corrections_page"]

_APPLIED = {"all": None, "pending": False, "applied": True}


def _before_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        key = decode_cursor(cursor)
        if len(key) != 1 or not isinstance(key[0], int) or not 1 <= key[0] <= MAX_ROW_ID:
            raise InvalidCursor("not a cursor of this list")
        return key[0]
    except InvalidCursor as exc:
        raise InvalidInput("not a cursor of this list", code="validation_error",
                           problems=[FieldProblem("cursor", "not a cursor of this list", "query")]) from exc


async def corrections_page(database: Database, tenant: TenantRecord, state: str, limit: int,
                           cursor: str | None) -> tuple[list[CorrectionHistoryRecord], str | None]:
    async with database.connect() as conn:
        rows = await list_correction_history(conn, tenant.id, limit + 1, _before_id(cursor), _APPLIED[state])
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor((rows[-1].id,)) if more else None
