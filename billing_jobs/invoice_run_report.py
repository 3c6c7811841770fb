"""What an invoice run tells finance: a row per tenant and a summary with totals by currency.

Pure: the flow publishes these as Prefect artifacts (a table and a markdown summary),
and the operators' API reads the rows back to list a run's per-tenant outcomes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .invoice_run import InvoiceSummary
from .money import Money
from .period_guard import CloseNow

__all__ = ["FAILED_STATUS", "REPORT_COLUMNS", "TenantResult", "report_rows", "summary_markdown"]

FAILED_STATUS = "failed"
REPORT_COLUMNS = ("tenant", "tenant_id", "invoice_number", "total", "currency", "status", "failure_reason")


@dataclass(frozen=True)
class TenantResult:
    """One tenant's outcome of a run: its invoice, or why it has none."""

    tenant_id: str
    summary: InvoiceSummary | None
    failure_reason: str | None = None


def _total(summary: InvoiceSummary) -> str:
    return str(Money.from_minor_units(summary.total_minor, summary.currency).amount)


def report_rows(results: Sequence[TenantResult]) -> list[dict[str, str]]:
    """A row per tenant, every column a string (REPORT_COLUMNS), failures with their reason."""
    rows = []
    for result in results:
        summary = result.summary
        if summary is None:
            rows.append({"tenant": result.tenant_id, "tenant_id": result.tenant_id, "invoice_number": "",
                         "total": "", "currency": "", "status": FAILED_STATUS,
                         "failure_reason": result.failure_reason or "unknown"})
        else:
            rows.append({"tenant": summary.tenant_slug, "tenant_id": result.tenant_id,
                         "invoice_number": summary.number, "total": _total(summary), "currency": summary.currency,
                         "status": summary.status, "failure_reason": ""})
    return rows


def summary_markdown(period: str, results: Sequence[TenantResult], *, dry_run: bool,
                     close_now: CloseNow | None = None) -> str:
    """Counts by status and totals by currency, and what kind of run it was."""
    lines = [f"# Invoices for {period}" + (" (dry run)" if dry_run else ""), ""]
    if dry_run:
        lines += ["Dry run: invoices rated and shown; nothing stored, Stripe not called.", ""]
    if close_now is not None:
        lines += [f"Period closed early by **{close_now.operator}**: {close_now.reason}", ""]
    statuses = Counter(r.summary.status if r.summary else FAILED_STATUS for r in results)
    failed = statuses.get(FAILED_STATUS, 0)
    lines += [f"**{len(results) - failed}** of **{len(results)}** tenants invoiced, **{failed}** failed.", "",
              "| status | tenants |", "|---|---|"]
    lines += [f"| {status} | {count} |" for status, count in sorted(statuses.items())]
    totals: dict[str, Money] = {}
    counts: Counter[str] = Counter()
    for result in results:
        if result.summary is not None:
            currency = result.summary.currency
            amount = Money.from_minor_units(result.summary.total_minor, currency)
            totals[currency] = totals[currency] + amount if currency in totals else amount
            counts[currency] += 1
    lines += ["", "| currency | invoices | total |", "|---|---|---|"]
    lines += [f"| {currency} | {counts[currency]} | {totals[currency].amount} |" for currency in sorted(totals)]
    if failed:
        lines += ["", "Failed tenants are listed in the table artifact with the reason; fix the cause and "
                      "run again for those tenants (`tenants` parameter): invoices already issued are not "
                      "issued twice."]
    return "\n".join(lines) + "\n"
