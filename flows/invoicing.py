"""Monthly invoicing: every subscribed tenant, in batches of tenants (a task each), each invoice idempotent.

Finance runs it from the Prefect UI (deployment "generate-invoices/monthly", with a
`period` parameter such as "2026-10") or lets the schedule run it for last month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.utilities.annotations import quote
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_chain, wait_fixed

from billing_jobs import invoice_run
from billing_jobs.errors import PermanentError, RetryableError
from billing_jobs.invoice_run import InvoiceSummary, billable_tenants
from billing_jobs.invoicing import billing_period
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSpan
from meterline.settings import get_settings

from ._shared import shared_gateway, shared_invoice_run_store, task_runner

__all__ = ["generate_invoices", "InvoiceSummary", "TenantOutcome", "parse_period"]


def parse_period(period: str | None, today: date) -> tuple[date, date]:
    """"YYYY-MM", or None for the month before `today` (what a schedule on the 1st bills)."""
    if period:
        year, month = (int(part) for part in period.split("-"))
        return billing_period(date(year, month, 1))
    first_of_this_month = today.replace(day=1)
    return billing_period(date.fromordinal(first_of_this_month.toordinal() - 1))


# A tenant's invoice is retried on transient errors only, after these waits (seconds).
_RETRY_WAITS_S = (2, 10, 30)
# Tasks per thread of the flow's runner: enough that a slow batch does not leave the
# other threads idle at the end, few enough that Prefect's per-task cost stays small.
_BATCHES_PER_THREAD = 3


@dataclass(frozen=True)
class TenantOutcome:
    tenant_id: str
    summary: InvoiceSummary | None
    error: BaseException | None


@task
def invoice_tenants(batch: list[tuple[str, list[dict]]], start: date, end: date) -> list[TenantOutcome]:
    """Invoice a batch of tenants, each on its own: one tenant's failure is its outcome,
    never the batch's. One task per batch rather than per tenant: with a task per
    tenant, Prefect's own work (a task run recorded by its server, the task engine)
    cost about as much CPU as the invoice itself (bench/README.md "Billing")."""
    outcomes = []
    for tenant_id, spans_json in batch:
        retrying = Retrying(stop=stop_after_attempt(len(_RETRY_WAITS_S) + 1),
                            wait=wait_chain(*(wait_fixed(s) for s in _RETRY_WAITS_S)),
                            retry=retry_if_exception_type(RetryableError), reraise=True)
        try:
            summary = retrying(invoice_tenant, tenant_id, spans_json, start, end)
        except Exception as exc:  # noqa: BLE001 - this tenant's outcome; the flow reports it
            get_run_logger().error("tenant %s not invoiced: %s", tenant_id, exc)
            outcomes.append(TenantOutcome(tenant_id, None, exc))
        else:
            outcomes.append(TenantOutcome(tenant_id, summary, None))
    return outcomes


def invoice_tenant(tenant_id: str, spans_json: list[dict], start: date, end: date) -> InvoiceSummary:
    """spans_json: the tenant's subscriptions in force in the period, as
    {"plan": Plan JSON, "started_at": datetime, "ended_at": datetime | None}."""
    spans = [SubscriptionSpan(Plan.model_validate(s["plan"]), s["started_at"], s["ended_at"]) for s in spans_json]
    return invoice_run.invoice_tenant(store=shared_invoice_run_store(), payments=shared_gateway(), tenant_id=tenant_id,
                                      spans=spans, period_start=start, period_end=end)


@flow(name="generate-invoices", log_prints=True, task_runner=task_runner())
def generate_invoices(period: str | None = None, tenant_id: str | None = None) -> list[InvoiceSummary]:
    """Invoice every tenant subscribed during the period (or one: `tenant_id`); safe to run again.

    Tenants are invoiced in batches, one task each (`invoice_tenants`). A tenant that
    fails does not stop the others: every tenant is tried (transient errors retried),
    then the flow fails naming each tenant left uninvoiced, so a rerun after the fix
    completes the period."""
    start, end = parse_period(period, datetime.now(timezone.utc).date())
    # One invoice per tenant and period, from every plan in force in it
    # (billing_jobs.segments prorates a mid-period change).
    by_tenant = {tid: [{"plan": s.plan.model_dump(mode="json"), "started_at": s.started_at, "ended_at": s.ended_at}
                       for s in spans]
                 for tid, spans in billable_tenants(shared_invoice_run_store(), start, end, tenant_id).items()}
    logger = get_run_logger()
    logger.info("invoicing %d tenants for %s..%s", len(by_tenant), start, end)
    items = list(by_tenant.items())
    batch_count = min(len(items), get_settings().billing.flow_concurrency * _BATCHES_PER_THREAD)
    batches = [items[i::batch_count] for i in range(batch_count)]
    # quote(): the task gets the batch as is, but Prefect does not walk every tenant's
    # spans and plan looking for futures to wait on (there are none): that walk was
    # ~2.5% of the flow process's CPU in the 200-tenant bench (py-spy).
    futures = [invoice_tenants.submit(quote(batch), start, end) for batch in batches]
    outcomes: dict[str, TenantOutcome] = {}
    for batch, future in zip(batches, futures):
        try:
            outcomes.update((outcome.tenant_id, outcome) for outcome in future.result())
        except Exception as exc:  # noqa: BLE001 - a batch that broke as a whole fails its tenants only
            logger.error("a batch of %d tenants failed: %s", len(batch), exc)
            outcomes.update((tid, TenantOutcome(tid, None, exc)) for tid, _ in batch)
    summaries: list[InvoiceSummary] = []
    failures: list[tuple[str, BaseException]] = []
    for tid, _ in items:  # in the order tenants were listed, as before batching
        outcome = outcomes[tid]
        if outcome.error is not None:
            failures.append((tid, outcome.error))
        else:
            summaries.append(outcome.summary)
    if failures:
        detail = "; ".join(f"tenant {tid}: {exc}" for tid, exc in failures)
        first = failures[0][1]
        error_type = PermanentError if isinstance(first, PermanentError) else RuntimeError
        raise error_type(f"{len(failures)} of {len(items)} tenants not invoiced for {start}..{end}: {detail}") \
            from first
    return summaries
