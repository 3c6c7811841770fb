"""Reading the audit log a page at a time: newest first, the cursor the last entry's (time, id)."""

from __future__ import annotations

import uuid
from datetime import datetime

from warehouse.postgres.audit import AuditRecord, list_audit
from warehouse.postgres.database import Database

from ..cursor_query import cursor_key
from ..usage.cursor import encode_cursor

__all__ = ["audit_page"]


def _position(cursor: str) -> tuple[datetime, int]:
    return cursor_key(cursor, datetime, int)  # type: ignore[return-value]


async def audit_page(database: Database, tenant_id: uuid.UUID, limit: int,
                     cursor: str | None) -> tuple[list[AuditRecord], str | None]:
    before = _position(cursor) if cursor else None
    async with database.connect() as conn:
        records = await list_audit(conn, tenant_id, limit + 1, before)  # one more: is there a next page?
    more, records = len(records) > limit, records[:limit]
    return records, encode_cursor((records[-1].occurred_at, records[-1].id)) if more else None
