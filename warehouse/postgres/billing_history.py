"""What billing did for a tenant, read from its own schema for the admin API: payments
(recorded from Stripe's webhooks, warehouse.postgres.billing_webhooks) and late-usage
corrections, pending and applied (with the invoice that billed them).

Lists are newest first and paged by keyset (the last row's key), so a page never repeats
or skips a row when new ones arrive."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import invoice, payment
from .tenant_scope import tenant_scope
from .usage import usage_correction

__all__ = ["PaymentRecord", "CorrectionHistoryRecord", "list_payments", "get_payment", "list_correction_history",
           "invoiced_until"]


@dataclass(frozen=True)
class PaymentRecord:
    id: uuid.UUID
    invoice_number: str
    stripe_payment_id: str | None
    amount_minor: int
    currency: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class CorrectionHistoryRecord:
    id: int
    invoice_number: str
    meter_slug: str
    window_start: datetime
    quantity: Decimal
    event_count: int
    kind: str
    applied_invoice_number: str | None
    amount_minor: int | None
    created_at: datetime
    updated_at: datetime


_PAYMENT_COLUMNS = (payment.c.id, payment.c.invoice_number, payment.c.stripe_payment_id, payment.c.amount_minor,
                    invoice.c.currency, payment.c.status, payment.c.created_at)


def _payment(row) -> PaymentRecord:
    return PaymentRecord(row.id, row.invoice_number, row.stripe_payment_id, int(row.amount_minor), row.currency,
                         row.status, row.created_at)


async def list_payments(conn: AsyncConnection, tenant_id: uuid.UUID, limit: int,
                        before: tuple[datetime, uuid.UUID] | None = None) -> list[PaymentRecord]:
    """The tenant's payments, newest first, after the (created_at, id) of the previous page's last."""
    query = (select(*_PAYMENT_COLUMNS).join(invoice, invoice.c.number == payment.c.invoice_number)
             .order_by(payment.c.created_at.desc(), payment.c.id.desc()).limit(limit))
    if before is not None:
        query = query.where(tuple_(payment.c.created_at, payment.c.id) < tuple_(*before))
    return [_payment(r) for r in await (await tenant_scope(conn, tenant_id)).execute(query)]


async def get_payment(conn: AsyncConnection, tenant_id: uuid.UUID, payment_id: uuid.UUID) -> PaymentRecord | None:
    row = (await (await tenant_scope(conn, tenant_id)).execute(
        select(*_PAYMENT_COLUMNS).join(invoice, invoice.c.number == payment.c.invoice_number)
        .where(payment.c.id == payment_id))).one_or_none()
    return _payment(row) if row else None


async def list_correction_history(conn: AsyncConnection, tenant_id: uuid.UUID, limit: int,
                                  before_id: int | None = None, applied: bool | None = None,
                                  ) -> list[CorrectionHistoryRecord]:
    """The tenant's corrections, newest first (by id), pending and applied, or only one of them."""
    c = usage_correction.c
    query = select(c.id, c.invoice_number, c.meter_slug, c.window_start, c.quantity, c.event_count, c.kind,
                   c.applied_invoice_number, c.amount_minor, c.created_at, c.updated_at
                   ).order_by(c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(c.id < before_id)
    if applied is not None:
        query = query.where(c.applied_invoice_number.is_not(None) if applied else c.applied_invoice_number.is_(None))
    rows = await (await tenant_scope(conn, tenant_id)).execute(query)
    return [CorrectionHistoryRecord(r.id, r.invoice_number, r.meter_slug, r.window_start, Decimal(r.quantity),
                                    int(r.event_count), r.kind, r.applied_invoice_number,
                                    None if r.amount_minor is None else int(r.amount_minor), r.created_at,
                                    r.updated_at) for r in rows]


async def invoiced_until(conn: AsyncConnection, tenant_id: uuid.UUID) -> date | None:
    """The end of the latest period the tenant has an invoice for (any status): an invoice is
    never recomposed, so usage or fees added before this date would never be billed."""
    return (await (await tenant_scope(conn, tenant_id)).execute(select(func.max(invoice.c.period_end)))).scalar_one()
