"""A tenant's payments, read from its own schema, newest first, paged by cursor."""

from __future__ import annotations

import uuid
from datetime import datetime

from warehouse.postgres.billing_history import PaymentRecord, get_payment, list_payments
from warehouse.postgres.database import Database
from warehouse.postgres.tenants import TenantRecord

from ..domain_errors import NotFound
from ..cursor_query import bad_cursor, cursor_key
from ..usage.cursor import encode_cursor

__all__ = ["payments_page", "one_payment"]


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    key = cursor_key(cursor, datetime, str)
    if key is None:
        return None
    try:
        return key[0], uuid.UUID(key[1])
    except ValueError as exc:
        raise bad_cursor() from exc


async def payments_page(database: Database, tenant: TenantRecord, limit: int,
                        cursor: str | None) -> tuple[list[PaymentRecord], str | None]:
    async with database.connect() as conn:
        rows = await list_payments(conn, tenant.id, limit + 1, _after(cursor))
    more, rows = len(rows) > limit, rows[:limit]
    return rows, encode_cursor((rows[-1].created_at, str(rows[-1].id))) if more else None


async def one_payment(database: Database, tenant: TenantRecord, payment_id: uuid.UUID) -> PaymentRecord:
    async with database.connect() as conn:
        found = await get_payment(conn, tenant.id, payment_id)
    if found is None:
        raise NotFound(f"no payment '{payment_id}'")
    return found
