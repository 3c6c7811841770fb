"""Each figure: one read of the warehouse (warehouse.postgres.analytics), then the pure
definition (billing_jobs.analytics). Nothing here decides what a figure means."""

from __future__ import annotations

from billing_jobs.analytics import (
    ArpuMonth, ChurnMonth, MrrMonth, RevenueDimension, RevenueTotal, SubscriptionMonth, TenantRevenue, TenantUsage,
    UsageTotal, arpu_by_month, churn_by_month, mrr_by_month, revenue_by, subscriptions_by_month,
    top_tenants_by_revenue, top_tenants_by_usage,
)
from warehouse.postgres.analytics import monthly_usage, revenue_lines, subscription_spans
from warehouse.postgres.database import Database

from .deps import MonthRange

__all__ = ["mrr", "arpu", "subscriptions", "churn", "revenue", "top_revenue", "usage", "top_usage"]


async def _spans(database: Database, scope: MonthRange):
    if not scope.months:
        return []
    async with database.connect() as conn:
        return await subscription_spans(conn, min(scope.last.end, scope.now), scope.tenant_ids)


async def mrr(database: Database, scope: MonthRange) -> list[MrrMonth]:
    return mrr_by_month(await _spans(database, scope), scope.months, scope.now)


async def arpu(database: Database, scope: MonthRange) -> list[ArpuMonth]:
    return arpu_by_month(await mrr(database, scope))


async def subscriptions(database: Database, scope: MonthRange) -> list[SubscriptionMonth]:
    return subscriptions_by_month(await _spans(database, scope), scope.months, scope.now)


async def churn(database: Database, scope: MonthRange) -> list[ChurnMonth]:
    return churn_by_month(await _spans(database, scope), scope.months, scope.now)


async def _revenue_lines(database: Database, scope: MonthRange):
    if not scope.months:
        return []
    async with database.connect() as conn:
        return await revenue_lines(conn, scope.first, scope.last, scope.tenant_ids)


async def revenue(database: Database, scope: MonthRange, by: RevenueDimension) -> list[RevenueTotal]:
    return revenue_by(await _revenue_lines(database, scope), by)


async def top_revenue(database: Database, scope: MonthRange, limit: int) -> list[TenantRevenue]:
    return top_tenants_by_revenue(await _revenue_lines(database, scope), limit)


async def usage(database: Database, scope: MonthRange) -> list[TenantUsage]:
    if not scope.months:
        return []
    async with database.connect() as conn:
        return await monthly_usage(conn, scope.first, scope.last, scope.tenant_ids)


async def top_usage(database: Database, scope: MonthRange, limit: int) -> list[UsageTotal]:
    return top_tenants_by_usage(await usage(database, scope), limit)
