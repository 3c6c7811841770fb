"""The invoice run's store: billing_jobs.ports.InvoiceRunStore on PostgreSQL.

The invoices themselves are PgInvoiceStore's; this adds what the run reads before
composing them (the tenant, its meters, the period's usage and late corrections)
and the tenant's Stripe customer record.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Connection

from billing_jobs.ports import BillingTenant, TenantPeriod
from billing_jobs.segments import SubscriptionSpan, period_bounds

from .billing_corrections import corrected_periods, pending_corrections
from .billing_customers import start_customer_creation
from .billing_usage import hourly_usage, meter_aggregations
from .invoices import PgInvoiceStore
from .plans import billable_subscriptions
from .tables import tenant
from .transient import retryable_on_connection_loss

__all__ = ["PgInvoiceRunStore", "read_tenant_period", "tenant_spans"]


def read_tenant_period(conn: Connection, tenant_id: uuid.UUID, period_start: date, period_end: date) -> TenantPeriod:
    """What the tenant's invoice for the period is composed from (billing_jobs.period_invoice):
    read by the invoice run, and by the admin API's preview through `run_sync`."""
    row = conn.execute(tenant.select().where(tenant.c.id == tenant_id)).one()
    aggregations = meter_aggregations(conn, row.id)
    hours = hourly_usage(conn, row.id, *period_bounds(period_start, period_end))
    corrections = pending_corrections(conn, row.id, period_start)
    periods = corrected_periods(conn, row.id, {c.invoice_number for c in corrections}) if corrections else {}
    return TenantPeriod(BillingTenant(str(row.id), row.slug, row.name, row.stripe_customer_id),
                        aggregations, hours, corrections, periods)


def tenant_spans(conn: Connection, tenant_id: uuid.UUID, period_start: date,
                 period_end: date) -> list[SubscriptionSpan]:
    """The tenant's subscriptions in force at some point of the period, oldest first."""
    return [SubscriptionSpan(s.plan, s.started_at, s.canceled_at)
            for s in billable_subscriptions(conn, *period_bounds(period_start, period_end), tenant_id)]


@retryable_on_connection_loss
class PgInvoiceRunStore(PgInvoiceStore):
    """One per flow run, shared by its task threads (each call takes its own connection)."""

    def billable_spans(self, period_start: date, period_end: date) -> dict[str, list[SubscriptionSpan]]:
        with self._engine.connect() as conn:
            subscriptions = billable_subscriptions(conn, *period_bounds(period_start, period_end))
        spans: dict[str, list[SubscriptionSpan]] = {}
        for s in subscriptions:
            spans.setdefault(str(s.tenant_id), []).append(SubscriptionSpan(s.plan, s.started_at, s.canceled_at))
        return spans

    def read_period(self, tenant_id: str, period_start: date, period_end: date) -> TenantPeriod:
        # One transaction for every read, as one connection from the pool.
        with self._engine.begin() as conn:
            period = read_tenant_period(conn, uuid.UUID(tenant_id), period_start, period_end)
        # The invoice half of this store need not look the tenant up again.
        self._slugs[period.tenant.tenant_id] = period.tenant.slug
        return period

    def start_customer_creation(self, tenant_id: str) -> bool:
        with self._engine.begin() as conn:
            return start_customer_creation(conn, uuid.UUID(tenant_id))

    def set_customer_id(self, tenant_id: str, customer_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(tenant.update().where(tenant.c.id == uuid.UUID(tenant_id))
                         .values(stripe_customer_id=customer_id))
