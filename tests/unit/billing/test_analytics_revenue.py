"""Revenue by tenant, plan and meter, and the top tenants by revenue and by usage
(billing_jobs.analytics.revenue); expected figures worked out beside each table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing_jobs.analytics import (
    Month, RevenueLine, TenantUsage, revenue_by, top_tenants_by_revenue, top_tenants_by_usage,
)

JAN, FEB = Month(2026, 1), Month(2026, 2)


def line(tenant: str, month: Month, amount: int, plan: str = "basic", meter: str | None = None,
         currency: str = "USD") -> RevenueLine:
    return RevenueLine(f"id-{tenant}", tenant, month, currency, plan, meter, amount)


LINES = [
    line("acme", JAN, 3000),
    line("acme", JAN, 1250, meter="api"),
    line("acme", JAN, -250, meter="api"),  # a credit: a restatement billed lower
    line("acme", FEB, 3000, plan="pro"),
    line("bolt", JAN, 999, meter="storage"),
    line("bolt", JAN, 500),
    line("yen", JAN, 1200, currency="JPY", plan="jp"),
]

D = Decimal


@pytest.mark.parametrize(("by", "expected"), [
    pytest.param("tenant", [("2026-01", "JPY", "yen", D(1200)), ("2026-01", "USD", "acme", D("40.00")),
                            ("2026-01", "USD", "bolt", D("14.99")), ("2026-02", "USD", "acme", D("30.00"))],
                 id="by-tenant-net-of-credits"),
    pytest.param("plan", [("2026-01", "JPY", "jp", D(1200)), ("2026-01", "USD", "basic", D("54.99")),
                          ("2026-02", "USD", "pro", D("30.00"))], id="by-plan"),
    pytest.param("meter", [("2026-01", "JPY", None, D(1200)), ("2026-01", "USD", None, D("35.00")),
                           ("2026-01", "USD", "api", D("10.00")), ("2026-01", "USD", "storage", D("9.99")),
                           ("2026-02", "USD", None, D("30.00"))], id="by-meter-flat-fee-under-none"),
])
def test_revenue_by(by, expected):
    assert [(str(t.month), t.currency, t.key, t.amount) for t in revenue_by(LINES, by)] == expected


@pytest.mark.parametrize(("limit", "expected"), [
    pytest.param(5, [("JPY", "yen", D(1200)), ("USD", "acme", D("70.00")), ("USD", "bolt", D("14.99"))],
                 id="per-currency"),
    pytest.param(1, [("JPY", "yen", D(1200)), ("USD", "acme", D("70.00"))], id="limit-per-currency"),
])
def test_top_tenants_by_revenue(limit, expected):
    assert [(t.currency, t.tenant_slug, t.amount) for t in top_tenants_by_revenue(LINES, limit)] == expected


def usage(tenant: str, meter: str, events: int, month: Month = JAN) -> TenantUsage:
    return TenantUsage(f"id-{tenant}", tenant, month, meter, "SUM", events, Decimal(events))


@pytest.mark.parametrize(("rows", "limit", "expected"), [
    pytest.param([usage("a", "api", 10), usage("a", "io", 5, FEB), usage("b", "api", 12)], 5,
                 [("a", 15), ("b", 12)], id="meters-and-months-add-up"),
    pytest.param([usage("b", "api", 7), usage("a", "api", 7), usage("c", "api", 1)], 2,
                 [("a", 7), ("b", 7)], id="ties-by-slug-and-limit"),
    pytest.param([], 3, [], id="nothing"),
])
def test_top_tenants_by_usage(rows, limit, expected):
    assert [(t.tenant_slug, t.events) for t in top_tenants_by_usage(rows, limit)] == expected
