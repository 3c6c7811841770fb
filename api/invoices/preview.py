"""The open period's invoice as it stands: what the tenant owes so far, line by line.

Rated by billing_jobs.period_invoice.rate_period from warehouse.postgres.billing_run's
reads, exactly as the invoice run rates the final invoice: if nothing more arrives
before the period closes, the invoice issued then has these lines. The flat fee is the
period's (prorated by the subscriptions in force in it, as on the invoice), not a
fraction up to now.
"""

from __future__ import annotations

from datetime import datetime

from billing_jobs.invoicing import InvoiceDraft, billing_period
from billing_jobs.period_invoice import rate_period
from billing_jobs.usage_totals import UnbillableMeterError
from warehouse.postgres.billing_run import read_tenant_period, tenant_spans
from warehouse.postgres.database import Database
from warehouse.postgres.tenants import TenantRecord

from ..domain_errors import Conflict, NotFound

__all__ = ["preview_open_period"]


async def preview_open_period(database: Database, tenant: TenantRecord, now: datetime) -> InvoiceDraft:
    start, end = billing_period(now)

    def read_and_rate(conn) -> InvoiceDraft | None:
        spans = tenant_spans(conn, tenant.id, start, end)
        if not spans:
            return None
        return rate_period(spans, read_tenant_period(conn, tenant.id, start, end), start, end)

    try:
        async with database.connect() as conn:
            draft = await conn.run_sync(read_and_rate)
    except UnbillableMeterError as exc:
        # Subscribing refuses such plans; one seeded before that rule cannot be rated either.
        raise Conflict(str(exc), code="meter_not_billable") from exc
    if draft is None:
        raise NotFound(f"no subscription is in force in the open period ({start:%Y-%m})")
    return draft
