"""Invoices and their lines in the tenant schema.

`PgInvoiceStore` implements billing_jobs.ports.InvoiceStore (sync: the invoice flow
runs in Prefect task threads); the async readers serve the admin API.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.corrections import AppliedCorrection
from billing_jobs.invoicing import InvoiceDraft, InvoiceLine
from billing_jobs.errors import PermanentError, RetryableError
from billing_jobs.ports import InvoiceStatus, StoredInvoice

from .tables import invoice, invoice_line, tenant
from .tenant_scope import tenant_scope, tenant_scope_sync
from .usage import usage_correction
from .transient import retryable_on_connection_loss

__all__ = ["PgInvoiceStore", "list_invoices", "get_invoice"]


def _stored(head, lines, tenant_id: str, tenant_slug: str) -> StoredInvoice:
    draft = InvoiceDraft(
        number=head.number, tenant_id=tenant_id, tenant_slug=tenant_slug, plan_slug=head.plan_slug,
        currency=head.currency, period_start=head.period_start, period_end=head.period_end,
        lines=tuple(InvoiceLine(position=l.position, kind=l.kind, meter_slug=l.meter_slug, description=l.description,
                                quantity=l.quantity, unit_price=l.unit_price, tier=l.tier,
                                amount_minor=l.amount_minor) for l in lines),
        subtotal_minor=head.subtotal_minor, total_minor=head.total_minor,
    )
    return StoredInvoice(draft=draft, status=head.status, stripe_invoice_id=head.stripe_invoice_id)


def _read(conn, number: str, tenant_id: str, tenant_slug: str):
    head = conn.execute(select(invoice).where(invoice.c.number == number)).one_or_none()
    if head is None:
        return None
    lines = conn.execute(
        select(invoice_line).where(invoice_line.c.invoice_number == number).order_by(invoice_line.c.position)
    ).all()
    return _stored(head, lines, tenant_id, tenant_slug)


@retryable_on_connection_loss
class PgInvoiceStore:
    """`tenants`: tenant id -> slug the caller has already read, so it is not looked up
    again (the invoice flow reads the tenant's row anyway)."""

    def __init__(self, engine: Engine, tenants: Mapping[str, str] | None = None) -> None:
        self._engine = engine
        self._slugs: dict[str, str] = dict(tenants or {})

    def _slug(self, tenant_id: str) -> str:
        if tenant_id not in self._slugs:
            with self._engine.connect() as conn:
                self._slugs[tenant_id] = conn.execute(
                    select(tenant.c.slug).where(tenant.c.id == uuid.UUID(tenant_id))).scalar_one()
        return self._slugs[tenant_id]

    def _in_tenant(self, conn: Connection, tenant_id: str) -> Connection:
        return tenant_scope_sync(conn, tenant_id)

    def get(self, tenant_id: str, number: str) -> StoredInvoice | None:
        with self._engine.connect() as raw:
            return _read(self._in_tenant(raw, tenant_id), number, tenant_id, self._slug(tenant_id))

    def create(self, tenant_id: str, draft: InvoiceDraft,
               applied_corrections: Sequence[AppliedCorrection] = ()) -> StoredInvoice:
        with self._engine.begin() as raw:
            conn = self._in_tenant(raw, tenant_id)
            inserted = conn.execute(
                pg_insert(invoice).values(
                    number=draft.number, plan_slug=draft.plan_slug, period_start=draft.period_start,
                    period_end=draft.period_end, currency=draft.currency, subtotal_minor=draft.subtotal_minor,
                    total_minor=draft.total_minor, status="draft",
                ).on_conflict_do_nothing(index_elements=["number"]).returning(invoice.c.number)
            ).scalar_one_or_none()
            if inserted is not None and draft.lines:
                conn.execute(invoice_line.insert(), [
                    {"invoice_number": draft.number, **line.model_dump(exclude={"position"}), "position": line.position}
                    for line in draft.lines
                ])
            if inserted is None:  # stored before: the stored one, unchanged
                return _read(conn, draft.number, tenant_id, self._slug(tenant_id))
            _apply_corrections(conn, draft.number, applied_corrections)
        # Just inserted from `draft`, as it is: reading it back (two more statements per
        # invoice) would only return it.
        return StoredInvoice(draft=draft, status="draft", stripe_invoice_id=None)

    def start_stripe_push(self, tenant_id: str, number: str) -> bool:
        # One conditional UPDATE: of two concurrent runs only one sees a row
        # come back, so at most one push ever skips the recovery look-ups.
        with self._engine.begin() as raw:
            started = self._in_tenant(raw, tenant_id).execute(
                update(invoice)
                .where(invoice.c.number == number, invoice.c.stripe_push_started_at.is_(None))
                .values(stripe_push_started_at=func.now(), updated_at=func.now())
                .returning(invoice.c.number)
            ).scalar_one_or_none()
        return started is not None

    def attach_stripe(self, tenant_id: str, number: str, stripe_invoice_id: str, status: InvoiceStatus) -> None:
        with self._engine.begin() as raw:
            updated = self._in_tenant(raw, tenant_id).execute(
                update(invoice).where(invoice.c.number == number)
                .values(stripe_invoice_id=stripe_invoice_id, status=status, updated_at=func.now())
            ).rowcount
        _check_updated(updated, number)

    def set_status(self, tenant_id: str, number: str, status: InvoiceStatus) -> None:
        with self._engine.begin() as raw:
            updated = self._in_tenant(raw, tenant_id).execute(
                update(invoice).where(invoice.c.number == number).values(status=status, updated_at=func.now())
            ).rowcount
        _check_updated(updated, number)


def _check_updated(rowcount: int, number: str) -> None:
    if rowcount != 1:
        raise PermanentError(f"invoice {number} vanished from the store")


def _apply_corrections(conn: Connection, number: str, applied: Sequence[AppliedCorrection]) -> None:
    """Mark the corrections billed by invoice `number`, each only if still pending at the quantity
    and event count billed: the stream may have added to it since it was read (units, or a late
    event a restatement did not see), and those would be lost. A restatement keeps its amount."""
    for correction in applied:
        marked = conn.execute(
            update(usage_correction)
            .where(usage_correction.c.id == correction.id, usage_correction.c.applied_invoice_number.is_(None),
                   usage_correction.c.quantity == correction.quantity,
                   usage_correction.c.event_count == correction.event_count)
            .values(applied_invoice_number=number, amount_minor=correction.amount_minor, updated_at=func.now())
        ).rowcount
        if marked != 1:
            # Raised inside the transaction: the invoice is not stored either; the rerun recomposes.
            raise RetryableError(f"usage correction {correction.id} changed while invoice {number} was composed")


async def list_invoices(conn: AsyncConnection, tenant_id: uuid.UUID, tenant_slug: str,
                        since: date | None = None) -> list[StoredInvoice]:
    tconn = await tenant_scope(conn, tenant_id)
    query = select(invoice.c.number).order_by(invoice.c.period_start.desc())
    if since is not None:
        query = query.where(invoice.c.period_start >= since)
    numbers = (await tconn.execute(query)).scalars().all()
    return [await tconn.run_sync(lambda c, n=n: _read(c, n, str(tenant_id), tenant_slug)) for n in numbers]


async def get_invoice(conn: AsyncConnection, tenant_id: uuid.UUID, tenant_slug: str,
                      number: str) -> StoredInvoice | None:
    tconn = await tenant_scope(conn, tenant_id)
    return await tconn.run_sync(lambda c: _read(c, number, str(tenant_id), tenant_slug))
