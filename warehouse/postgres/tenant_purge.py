"""The purge's database half (billing_jobs.tenant_purge.TenantPurgeStore) and the retained invoices.

The invoices of a purged tenant are copied to `retained_invoice` (shared schema) with their
lines and payments as JSON, each kept until its period's end plus the retention years
(BillingSettings.invoice_retention_years; docs/operators.md says why). The copy, the DROP
SCHEMA and the DELETE of the tenant row are one transaction: never a schema gone with its
invoices unretained.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, delete, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.lifecycle import purge_due
from billing_jobs.tenant_purge import PurgeTarget

from . import tenant_scope
from .lifecycle_tables import retained_invoice
from .tables import invoice, invoice_line, payment, tenant
from .tenant_lifecycle import load_state_sync, state_of, tenants_due_for_purge
from .transient import retryable_on_connection_loss

__all__ = ["PgTenantPurgeStore", "RetainedInvoice", "list_retained_invoices"]


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


@retryable_on_connection_loss
class PgTenantPurgeStore:
    def __init__(self, engine: Engine, retention_years: int) -> None:
        self._engine = engine
        self._retention_years = retention_years

    def due_for_purge(self, now: datetime) -> list[str]:
        with self._engine.connect() as conn:
            return [str(tid) for tid in tenants_due_for_purge(conn, now)]

    def purge_target(self, tenant_id: str, now: datetime) -> PurgeTarget | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(tenant).where(tenant.c.id == uuid.UUID(tenant_id))).one_or_none()
        if row is None or not purge_due(state_of(row), now):
            return None
        return PurgeTarget(str(row.id), row.slug, row.stripe_customer_id)

    def purge(self, target: PurgeTarget, now: datetime) -> int | None:
        tid = uuid.UUID(target.tenant_id)
        with self._engine.begin() as conn:
            state = load_state_sync(conn, tid)  # locks the row: a concurrent cancel waits, then finds it gone
            if state is None or not purge_due(state, now):
                return None
            row = conn.execute(select(tenant).where(tenant.c.id == tid)).one()
            retained = self._retain_invoices(conn, row)
            schema = tenant_scope.tenant_schema_sync(conn, tid)
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(delete(tenant).where(tenant.c.id == tid))
        tenant_scope.forget(tid)
        return retained

    def _retain_invoices(self, conn: Connection, row) -> int:
        scoped = tenant_scope.tenant_scope_sync(conn, row.id)
        lines: dict[str, list[dict]] = {}
        for line in scoped.execute(select(invoice_line).order_by(invoice_line.c.invoice_number,
                                                                 invoice_line.c.position)).mappings():
            lines.setdefault(line["invoice_number"], []).append(
                {str(k): _plain(v) for k, v in line.items() if k != "invoice_number"})
        payments: dict[str, list[dict]] = {}
        for pay in scoped.execute(select(payment).order_by(payment.c.created_at)).mappings():
            payments.setdefault(pay["invoice_number"], []).append(
                {"stripe_payment_id": pay["stripe_payment_id"], "amount_minor": pay["amount_minor"],
                 "status": pay["status"], "created_at": pay["created_at"].isoformat()})
        invoices = scoped.execute(select(invoice)).all()
        for inv in invoices:
            conn.execute(pg_insert(retained_invoice).values(
                tenant_id=row.id, number=inv.number, tenant_slug=row.slug, tenant_name=row.name,
                period_start=inv.period_start, period_end=inv.period_end, plan_slug=inv.plan_slug,
                currency=inv.currency, subtotal_minor=inv.subtotal_minor, total_minor=inv.total_minor,
                status=inv.status, stripe_invoice_id=inv.stripe_invoice_id, issued_at=inv.created_at,
                lines=lines.get(inv.number, []), payments=payments.get(inv.number, []),
                retain_until=_years_after(inv.period_end, self._retention_years),
            ).on_conflict_do_nothing())
        return len(invoices)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class RetainedInvoice:
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    number: str
    period_start: date
    period_end: date
    plan_slug: str
    currency: str
    subtotal_minor: int
    total_minor: int
    status: str
    issued_at: datetime
    retain_until: date
    lines: list[dict]
    payments: list[dict]


async def list_retained_invoices(conn: AsyncConnection, tenant_id: uuid.UUID | None, after: tuple | None,
                                 limit: int) -> list[RetainedInvoice]:
    """Ordered by (tenant_id, number); `after` is the last (tenant_id, number) of the previous page."""
    query = select(retained_invoice).order_by(retained_invoice.c.tenant_id, retained_invoice.c.number).limit(limit)
    if tenant_id is not None:
        query = query.where(retained_invoice.c.tenant_id == tenant_id)
    if after is not None:
        query = query.where(tuple_(retained_invoice.c.tenant_id, retained_invoice.c.number) > after)
    return [RetainedInvoice(r.tenant_id, r.tenant_slug, r.tenant_name, r.number, r.period_start, r.period_end,
                            r.plan_slug, r.currency, r.subtotal_minor, r.total_minor, r.status, r.issued_at,
                            r.retain_until, r.lines, r.payments)
            for r in await conn.execute(query)]
