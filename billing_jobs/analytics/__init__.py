"""Analytics for operators: MRR and its movements, subscriptions and churn, ARPU, revenue and
usage rankings. Pure: the spans, invoices and usage arrive as data, `now` and the months as
arguments. The definitions are written out in docs/analytics.md; the code follows them.
"""

from .months import Month, begun_months, month_range, parse_month
from .recurring import (
    ArpuMonth, ChurnMonth, MrrMonth, SubscriptionMonth, SubscriptionSpan, arpu_by_month, churn_by_month,
    closing_instant, monthly_recurring_amount, mrr_by_month, subscriptions_by_month,
)
from .revenue import (
    ISSUED_STATUSES, RevenueDimension, RevenueLine, RevenueTotal, TenantRevenue, TenantUsage, UsageTotal,
    minor_to_decimal, revenue_by, top_tenants_by_revenue, top_tenants_by_usage,
)

__all__ = [
    "ArpuMonth", "ChurnMonth", "ISSUED_STATUSES", "Month", "MrrMonth", "RevenueDimension", "RevenueLine",
    "RevenueTotal", "SubscriptionMonth", "SubscriptionSpan", "TenantRevenue", "TenantUsage", "UsageTotal",
    "arpu_by_month", "begun_months", "churn_by_month", "closing_instant", "minor_to_decimal", "month_range",
    "monthly_recurring_amount", "mrr_by_month", "parse_month", "revenue_by", "subscriptions_by_month",
    "top_tenants_by_revenue", "top_tenants_by_usage",
]
