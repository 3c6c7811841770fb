"""Monthly invoicing: every subscribed tenant, in batches of tenants (a task each), each invoice idempotent.

Finance runs it from the Prefect UI (deployment "generate-invoices/monthly"; parameters
`period` such as "2026-10", default the month that just closed; `tenants`, default all;
`dry_run`) or lets the schedule run it for last month. Each run publishes a table
artifact (a row per tenant) and a markdown summary (counts, totals by currency).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.utilities.annotations import quote
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_chain, wait_fixed

from billing_jobs import invoice_run
from billing_jobs.errors import PermanentError, RetryableError
from billing_jobs.invoice_run import InvoiceSummary, billable_tenants
from billing_jobs.invoice_run_report import TenantResult, report_rows, summary_markdown
from billing_jobs.invoicing import billing_period
from billing_jobs.period_guard import CloseNow, PeriodNotClosedError, ended_early, not_started, run_period_refusal
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSpan

from ._shared import task_runner, wiring

__all__ = ["generate_invoices", "InvoiceSummary", "TenantOutcome", "parse_period", "report_artifact_key"]


def parse_period(period: str | None, today: date) -> tuple[date, date]:
    """"YYYY-MM", or None for the month before `today` (what a schedule on the 1st bills)."""
    if period:
        year, month = (int(part) for part in period.split("-"))
        return billing_period(date(year, month, 1))
    first_of_this_month = today.replace(day=1)
    return billing_period(date.fromordinal(first_of_this_month.toordinal() - 1))


def report_artifact_key(period_start: date, dry_run: bool) -> str:
    """The key of a run's table artifact (its summary: the same plus "-summary"): one per
    period, so the UI shows a period's runs as versions of one artifact."""
    return f"invoice{'-dry' if dry_run else ''}-run-{period_start:%Y-%m}"


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
def invoice_tenants(batch: list[tuple[str, list[dict]]], start: date, end: date, now: datetime,
                    close_now: CloseNow | None = None, dry_run: bool = False) -> list[TenantOutcome]:
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
            summary = retrying(invoice_tenant, tenant_id, spans_json, start, end, now, close_now, dry_run)
        except Exception as exc:  # noqa: BLE001 - this tenant's outcome; the flow reports it
            get_run_logger().error("tenant %s not invoiced: %s", tenant_id, exc)
            outcomes.append(TenantOutcome(tenant_id, None, exc))
        else:
            outcomes.append(TenantOutcome(tenant_id, summary, None))
    return outcomes


def _spans(spans_json: list[dict]) -> list[SubscriptionSpan]:
    return [SubscriptionSpan(Plan.model_validate(s["plan"]), s["started_at"], s["ended_at"]) for s in spans_json]


def invoice_tenant(tenant_id: str, spans_json: list[dict], start: date, end: date, now: datetime,
                   close_now: CloseNow | None = None, dry_run: bool = False) -> InvoiceSummary:
    """spans_json: the tenant's subscriptions in force in the period, as
    {"plan": Plan JSON, "started_at": datetime, "ended_at": datetime | None}."""
    wired = wiring()
    return invoice_run.invoice_tenant(store=wired.invoice_store(), payments=wired.gateway(), tenant_id=tenant_id,
                                      spans=_spans(spans_json), period_start=start, period_end=end, now=now,
                                      close_now=close_now, dry_run=dry_run)


def _tenants_to_invoice(start: date, end: date, now: datetime, tenants: list[str] | None,
                        close_now: CloseNow | None) -> dict[str, list[SubscriptionSpan]]:
    """The tenants this run tries, after the period guard's run-wide answer."""
    refusal = run_period_refusal(start, end, now, close_now)
    if refusal is not None and not_started(start, now):
        raise PeriodNotClosedError(refusal)
    spans = billable_tenants(wiring().invoice_store(), start, end, tenants)
    if refusal is not None:
        # An open period without close now: only the final invoices of subscriptions
        # cancelled at once are due. A tenant named explicitly beside those is refused
        # with the reason (its outcome); with none due, the run is refused as a whole.
        due = {tid: s for tid, s in spans.items() if ended_early(s, now)}
        if not due:
            raise PeriodNotClosedError(refusal)
        return spans if tenants is not None else due
    return spans


def _publish(start: date, results: list[TenantResult], dry_run: bool, close_now: CloseNow | None) -> None:
    key = report_artifact_key(start, dry_run)
    label = f"{start:%Y-%m}"
    create_table_artifact(table=report_rows(results), key=key,
                          description=f"Invoices for {label}{' (dry run)' if dry_run else ''}: a row per tenant")
    create_markdown_artifact(markdown=summary_markdown(label, results, dry_run=dry_run, close_now=close_now),
                             key=f"{key}-summary", description=f"Invoices for {label}: counts and totals")


@flow(name="generate-invoices", log_prints=True, task_runner=task_runner())
def generate_invoices(period: str | None = None, tenants: list[str] | None = None, dry_run: bool = False,
                      close_now: CloseNow | None = None, now: datetime | None = None) -> list[InvoiceSummary]:
    """Invoice every tenant subscribed during the period (or `tenants`, by id); safe to run again.

    `period` "YYYY-MM" defaults to the month that just closed; an open or future period is
    refused (billing_jobs.period_guard) unless `close_now` names the operator and the
    reason. `dry_run` rates and shows every invoice without storing it or calling Stripe.
    `now` is the clock the guard reads (default: the current time).

    Tenants are invoiced in batches, one task each (`invoice_tenants`). A tenant that
    fails does not stop the others: every tenant is tried (transient errors retried), the
    report artifacts are published, then the flow fails naming each tenant left
    uninvoiced, so a rerun for those tenants after the fix completes the period."""
    now = now or datetime.now(timezone.utc)
    start, end = parse_period(period, now.date())
    logger = get_run_logger()
    by_tenant = {tid: [{"plan": s.plan.model_dump(mode="json"), "started_at": s.started_at, "ended_at": s.ended_at}
                       for s in spans]
                 for tid, spans in _tenants_to_invoice(start, end, now, tenants, close_now).items()}
    if close_now is not None:
        # Until the audit log exists, the run's log and report are the record of who closed it.
        logger.warning("period %s closed now by %s: %s", f"{start:%Y-%m}", close_now.operator, close_now.reason)
    logger.info("invoicing %d tenants for %s..%s%s", len(by_tenant), start, end, " (dry run)" if dry_run else "")
    items = list(by_tenant.items())
    batch_count = min(len(items), wiring().billing.flow_concurrency * _BATCHES_PER_THREAD)
    batches = [items[i::batch_count] for i in range(batch_count)]
    # quote(): the task gets the batch as is, but Prefect does not walk every tenant's
    # spans and plan looking for futures to wait on (there are none): that walk was
    # ~2.5% of the flow process's CPU in the 200-tenant bench (py-spy).
    futures = [invoice_tenants.submit(quote(batch), start, end, now, close_now, dry_run) for batch in batches]
    outcomes: dict[str, TenantOutcome] = {}
    for batch, future in zip(batches, futures):
        try:
            outcomes.update((outcome.tenant_id, outcome) for outcome in future.result())
        except Exception as exc:  # noqa: BLE001 - a batch that broke as a whole fails its tenants only
            logger.error("a batch of %d tenants failed: %s", len(batch), exc)
            outcomes.update((tid, TenantOutcome(tid, None, exc)) for tid, _ in batch)
    ordered = [outcomes[tid] for tid, _ in items]  # in the order tenants were listed, as before batching
    _publish(start, [TenantResult(o.tenant_id, o.summary, None if o.error is None else str(o.error) or
                                  type(o.error).__name__) for o in ordered], dry_run, close_now)
    failures = [(o.tenant_id, o.error) for o in ordered if o.error is not None]
    if failures:
        detail = "; ".join(f"tenant {tid}: {exc}" for tid, exc in failures)
        first = failures[0][1]
        error_type = PermanentError if isinstance(first, PermanentError) else RuntimeError
        raise error_type(f"{len(failures)} of {len(items)} tenants not invoiced for {start}..{end}: {detail}") \
            from first
    return [o.summary for o in ordered]
