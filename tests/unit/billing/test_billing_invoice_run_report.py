"""An invoice run's report (billing_jobs.invoice_run_report): rows per tenant, totals by currency."""

from __future__ import annotations

from billing_jobs.invoice_run import InvoiceSummary
from billing_jobs.invoice_run_report import REPORT_COLUMNS, TenantResult, report_rows, summary_markdown
from billing_jobs.period_guard import CloseNow

RESULTS = [
    TenantResult("t-1", InvoiceSummary("acme", "ML-ACME-202611", "paid", "USD", 2543, [])),
    TenantResult("t-2", InvoiceSummary("globex", "ML-GLOBEX-202611", "payment_failed", "USD", 1000, [])),
    TenantResult("t-3", InvoiceSummary("yokai", "ML-YOKAI-202611", "paid", "JPY", 1200, [])),
    TenantResult("t-4", None, "stripe: connection refused"),
]


def test_a_row_per_tenant_with_every_column_and_the_failure_reason():
    rows = report_rows(RESULTS)
    assert all(tuple(row) == REPORT_COLUMNS for row in rows)
    assert [(r["tenant"], r["invoice_number"], r["total"], r["currency"], r["status"], r["failure_reason"])
            for r in rows] == [
        ("acme", "ML-ACME-202611", "25.43", "USD", "paid", ""),
        ("globex", "ML-GLOBEX-202611", "10.00", "USD", "payment_failed", ""),
        ("yokai", "ML-YOKAI-202611", "1200", "JPY", "paid", ""),  # yen have no minor unit
        ("t-4", "", "", "", "failed", "stripe: connection refused"),
    ]


def test_the_summary_counts_statuses_and_totals_each_currency():
    markdown = summary_markdown("2026-11", RESULTS, dry_run=False)
    assert markdown.startswith("# Invoices for 2026-11\n")
    assert "**3** of **4** tenants invoiced, **1** failed." in markdown
    assert "| failed | 1 |" in markdown and "| paid | 2 |" in markdown and "| payment_failed | 1 |" in markdown
    assert "| JPY | 1 | 1200 |" in markdown and "| USD | 2 | 35.43 |" in markdown
    assert "run again for those tenants" in markdown


def test_a_dry_run_and_a_close_now_say_so():
    markdown = summary_markdown("2026-12", RESULTS[:1], dry_run=True,
                                close_now=CloseNow(operator="ann@finance", reason="leaving today"))
    assert markdown.startswith("# Invoices for 2026-12 (dry run)")
    assert "nothing stored, Stripe not called" in markdown
    assert "closed early by **ann@finance**: leaving today" in markdown
    assert "**1** of **1** tenants invoiced, **0** failed." in markdown and "run again" not in markdown
