"""Revenue from issued invoices, and usage per tenant, with their rankings. Pure.
docs/analytics.md defines each figure.

Revenue is what invoices charged, by the month of the period they bill, net of credits:
a credit line (a negative amount: a restated usage billed lower) reduces its month, and
invoices that were voided or refunded count nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ..money import currency_exponent
from .months import Month

__all__ = ["ISSUED_STATUSES", "RevenueDimension", "RevenueLine", "RevenueTotal", "TenantRevenue", "TenantUsage",
           "UsageTotal", "minor_to_decimal", "revenue_by", "top_tenants_by_revenue", "top_tenants_by_usage"]

# Issued: sent to the customer and standing. draft is not issued yet; void and refunded
# were taken back in full (billing_jobs.ports.InvoiceStatus).
ISSUED_STATUSES: frozenset[str] = frozenset({"open", "paid", "payment_failed"})

RevenueDimension = Literal["tenant", "plan", "meter"]


def minor_to_decimal(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-currency_exponent(currency))


@dataclass(frozen=True)
class RevenueLine:
    """Issued invoice lines of one tenant, month, plan and meter, summed (the reader's rows)."""

    tenant_id: str
    tenant_slug: str
    month: Month
    currency: str
    plan_slug: str  # the invoice's plan: for a change mid-period, the plan in force at its end
    meter_slug: str | None  # None: lines of no meter (the flat fee)
    amount_minor: int


@dataclass(frozen=True)
class RevenueTotal:
    month: Month
    currency: str
    key: str | None  # the tenant's slug, the plan's slug, or the meter's slug (None: no meter)
    amount: Decimal


def _key(line: RevenueLine, by: RevenueDimension) -> str | None:
    return {"tenant": line.tenant_slug, "plan": line.plan_slug, "meter": line.meter_slug}[by]


def revenue_by(lines: Iterable[RevenueLine], by: RevenueDimension) -> list[RevenueTotal]:
    """Revenue per month, currency and `by`, in that order (no meter sorts first)."""
    totals: dict[tuple[Month, str, str | None], int] = defaultdict(int)
    for line in lines:
        totals[(line.month, line.currency, _key(line, by))] += line.amount_minor
    ordered = sorted(totals.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or ""))
    return [RevenueTotal(month, currency, key, minor_to_decimal(amount, currency))
            for (month, currency, key), amount in ordered]


@dataclass(frozen=True)
class TenantRevenue:
    tenant_id: str
    tenant_slug: str
    currency: str
    amount: Decimal


def top_tenants_by_revenue(lines: Iterable[RevenueLine], limit: int) -> list[TenantRevenue]:
    """The `limit` tenants of highest revenue over the lines' months, per currency (amounts of
    different currencies are never compared); ties by slug."""
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for line in lines:
        totals[(line.currency, line.tenant_id, line.tenant_slug)] += line.amount_minor
    by_currency: dict[str, list[TenantRevenue]] = defaultdict(list)
    for (currency, tenant_id, slug), amount in totals.items():
        by_currency[currency].append(TenantRevenue(tenant_id, slug, currency, minor_to_decimal(amount, currency)))
    return [tenant for currency in sorted(by_currency)
            for tenant in sorted(by_currency[currency], key=lambda t: (-t.amount, t.tenant_slug))[:limit]]


@dataclass(frozen=True)
class TenantUsage:
    """One tenant's usage of one meter in one month (the reader's rows)."""

    tenant_id: str
    tenant_slug: str
    month: Month
    meter_slug: str
    aggregation: str
    events: int  # events metered into the meter
    quantity: Decimal | None  # the month's total, for additive meters (COUNT, SUM) only


@dataclass(frozen=True)
class UsageTotal:
    tenant_id: str
    tenant_slug: str
    events: int


def top_tenants_by_usage(rows: Iterable[TenantUsage], limit: int) -> list[UsageTotal]:
    """The `limit` tenants that metered the most events over the rows' months, every meter
    together: events are the one measure meters of different units share. Ties by slug."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        totals[(row.tenant_id, row.tenant_slug)] += row.events
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0][1]))[:limit]
    return [UsageTotal(tenant_id, slug, events) for (tenant_id, slug), events in ranked]
