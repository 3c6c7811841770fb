"""The invoice run for one tenant and period: read, check, set up the customer, then issue.

The steps, each behind a port so that the flow only fans out over tenants:

0. refuse a period that has not closed (billing_jobs.period_guard), so that every
   entry (the flow, the API, the CLI) gets the guard;
1. read the tenant, its meters, the period's hourly usage and the late usage of
   earlier invoices (InvoiceRunStore.read_period);
2. refuse the tenant, before any Stripe call, if a priced meter cannot be billed;
3. make sure the tenant has its Stripe customer (created at most once);
4. compose, store, push and collect the invoice (invoice_service.issue_invoice);
   a dry run stops after composing: nothing is stored and Stripe is not called.

Safe to run again: every step is idempotent (invoice_service says how).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .invoice_service import issue_invoice
from .invoicing import invoice_number
from .period_guard import CloseNow, check_period
from .ports import BillingTenant, InvoiceRunStore, StripeGateway
from .period_invoice import compose_period_invoice, period_segments
from .segments import SubscriptionSpan

__all__ = ["DRY_RUN_STATUS", "InvoiceSummary", "billable_tenants", "invoice_tenant"]

# The status of an invoice a dry run composed and did not store.
DRY_RUN_STATUS = "dry run"


@dataclass(frozen=True)
class InvoiceSummary:
    tenant_slug: str
    number: str
    status: str
    currency: str
    total_minor: int
    lines: list[tuple[str, int]]


def billable_tenants(store: InvoiceRunStore, period_start: date, period_end: date,
                     tenants: Sequence[str] | None = None) -> dict[str, list[SubscriptionSpan]]:
    """{tenant id: its subscriptions in force in the period} for every tenant to invoice (or those of `tenants`)."""
    spans = store.billable_spans(period_start, period_end)
    if tenants is None:
        return spans
    return {tid: spans[tid] for tid in dict.fromkeys(tenants) if tid in spans}


def invoice_tenant(*, store: InvoiceRunStore, payments: StripeGateway, tenant_id: str,
                   spans: Sequence[SubscriptionSpan], period_start: date, period_end: date, now: datetime,
                   close_now: CloseNow | None = None, dry_run: bool = False) -> InvoiceSummary:
    """Issue the tenant's invoice for [period_start, period_end) from the subscriptions `spans`,
    as of `now` (the period guard's clock).

    Raises PeriodNotClosedError (a PermanentError) if the period has not closed, with none
    of the guard's exceptions; UnbillableMeterError (a PermanentError) before any Stripe
    call if a priced meter cannot be billed; RetryableError for the caller's retry policy.
    A dry run composes the invoice (or shows the one already stored) and writes nothing."""
    check_period(period_start, period_end, now, spans=spans, close_now=close_now)
    period = store.read_period(tenant_id, period_start, period_end)
    segments = period_segments(spans, period, period_start, period_end)
    tenant = period.tenant
    if dry_run:
        return _dry_run(store, tenant, segments, period, period_start, period_end)
    customer_id = _ensure_customer(store, payments, tenant)
    stored = issue_invoice(
        store=store, gateway=payments, tenant_id=tenant.tenant_id, tenant_slug=tenant.slug, customer_id=customer_id,
        segments=segments, period_start=period_start, period_end=period_end,
        corrections=period.corrections, corrected_periods=period.corrected_periods,
    )
    draft = stored.draft
    return InvoiceSummary(tenant.slug, draft.number, stored.status, draft.currency, draft.total_minor,
                          [(line.description, line.amount_minor) for line in draft.lines])


def _dry_run(store: InvoiceRunStore, tenant: BillingTenant, segments, period, period_start: date,
             period_end: date) -> InvoiceSummary:
    stored = store.get(tenant.tenant_id, invoice_number(tenant.slug, period_start))
    if stored is not None:  # issued before: a rerun would change nothing, so show it as it is
        draft, status = stored.draft, stored.status
    else:  # the same rating as the invoice it would issue (billing_jobs.period_invoice)
        draft, _ = compose_period_invoice(
            tenant_id=tenant.tenant_id, tenant_slug=tenant.slug, segments=segments, period_start=period_start,
            period_end=period_end, corrections=period.corrections, corrected_periods=period.corrected_periods)
        status = DRY_RUN_STATUS
    return InvoiceSummary(tenant.slug, draft.number, status, draft.currency, draft.total_minor,
                          [(line.description, line.amount_minor) for line in draft.lines])


def _ensure_customer(store: InvoiceRunStore, payments: StripeGateway, tenant: BillingTenant) -> str:
    recover = True
    if tenant.stripe_customer_id is None:
        # Our own record, committed before any Stripe call: only the run that sets it
        # knows no customer was created for this tenant, and skips looking for one.
        recover = not store.start_customer_creation(tenant.tenant_id)
    customer_id = payments.ensure_customer(tenant.tenant_id, tenant.name, f"billing@{tenant.slug}.invalid",
                                           tenant.stripe_customer_id, recover=recover)
    if customer_id != tenant.stripe_customer_id:
        store.set_customer_id(tenant.tenant_id, customer_id)
    return customer_id

