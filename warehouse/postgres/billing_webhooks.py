"""Stripe webhook events applied to PostgreSQL: each event id once, invoices only forward.

The event-id row, the invoice status and the payment row are written in the
caller's one transaction: a crash leaves the event unrecorded, so Stripe's
redelivery applies it; a replay finds the row and changes nothing.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from datetime import datetime

from billing_jobs.webhooks import CustomerDeleted, InvoiceChange, status_after

from .billing_tables import billing_webhook_event
from .tables import invoice, payment, tenant
from .tenant_scope import tenant_scope

__all__ = ["record_stripe_event"]


async def record_stripe_event(conn: AsyncConnection, event_id: str, event_type: str, created: datetime,
                              change: InvoiceChange | CustomerDeleted | None) -> str:
    """Apply event `event_id` (its `change`, as the Stripe adapter reads it) once; returns what
    happened ("duplicate", "paid", "ignored", ...)."""
    claimed = (await conn.execute(
        pg_insert(billing_webhook_event)
        .values(event_id=event_id, type=event_type, event_created_at=created, outcome="pending")
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(billing_webhook_event.c.event_id)
    )).scalar_one_or_none()
    if claimed is None:
        return "duplicate"
    if isinstance(change, InvoiceChange):
        outcome = await _apply_invoice_change(conn, change)
    elif isinstance(change, CustomerDeleted):
        result = await conn.execute(
            update(tenant).where(tenant.c.stripe_customer_id == change.customer_id).values(stripe_customer_id=None))
        # The next invoice run creates a new customer for the tenant.
        outcome = "customer detached" if result.rowcount else "unknown customer"
    else:
        outcome = "ignored"
    await conn.execute(
        update(billing_webhook_event).where(billing_webhook_event.c.event_id == event_id).values(outcome=outcome))
    return outcome


async def _apply_invoice_change(conn: AsyncConnection, change: InvoiceChange) -> str:
    if not change.customer_id:
        return "unknown customer"
    tenant_id = (await conn.execute(
        select(tenant.c.id).where(tenant.c.stripe_customer_id == change.customer_id)
    )).scalar_one_or_none()
    if tenant_id is None:
        return "unknown customer"
    tconn = await tenant_scope(conn, tenant_id)
    # FOR UPDATE: two events of one invoice applied concurrently still go forward only.
    row = (await tconn.execute(
        select(invoice.c.number, invoice.c.status).where(invoice.c.stripe_invoice_id == change.stripe_invoice_id)
        .with_for_update()
    )).one_or_none()
    if row is None:
        return "unknown invoice"  # e.g. localstripe's $0 anchor-subscription invoice
    if change.payment is not None:
        await tconn.execute(
            pg_insert(payment).values(invoice_number=row.number, stripe_payment_id=change.payment.stripe_payment_id,
                                      amount_minor=change.payment.amount_minor, status=change.payment.status)
            .on_conflict_do_nothing(index_elements=["stripe_payment_id"])
        )
    if change.status is None:
        return f"recorded on {row.status}"
    new_status = status_after(row.status, change.status)
    if new_status == row.status:
        return f"kept {row.status}"
    await tconn.execute(
        update(invoice).where(invoice.c.number == row.number).values(status=new_status, updated_at=func.now()))
    return new_status
