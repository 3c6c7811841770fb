"""Analytics across tenants, for the platform operator only. Routers translate; the figures
are defined in docs/analytics.md and computed in billing_jobs.analytics."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ..errors import error_responses
from fastapi import Depends

from ..deps import DatabaseDep
from ..operator_deps import require_permission
from . import service
from .deps import MonthRangeDep
from .schemas import (
    ArpuMonthPublic, ArpuReport, ChurnMonthPublic, ChurnReport, MrrMonthPublic, MrrReport, RevenueReport,
    RevenueTotalPublic, SubscriptionMonthPublic, SubscriptionsReport, TenantRevenuePublic, TenantUsagePublic,
    TopRevenueReport, TopUsageReport, UsageReport, UsageTotalPublic,
)

_RESPONSES = error_responses((401, "No operator access token, or not one (a tenant's token)"),
                             (403, "The operator's role may not read this (docs/operators.md)"),
                             (422, "A parameter out of its schema (from not a month of 2000-2099, months not 1-120...)"))

router = APIRouter(prefix="/v1/operator/analytics", tags=["analytics"], responses=_RESPONSES)

# The role table (api/operator_roles.py): revenue figures and usage figures.
RevenueReader = Annotated[object, Depends(require_permission("analytics.revenue"))]
UsageReader = Annotated[object, Depends(require_permission("analytics.usage"))]

Limit = Annotated[int, Query(ge=1, le=100, description="Tenants per currency (revenue) or in all (usage)")]


@router.get("/mrr", response_model=MrrReport)
async def mrr(_operator: RevenueReader, database: DatabaseDep, scope: MonthRangeDep) -> MrrReport:
    """MRR per month and currency at each month's close, its movements from the previous close, and ARR."""
    rows = await service.mrr(database, scope)
    return MrrReport(as_of=scope.now, rows=[MrrMonthPublic.of(row) for row in rows])


@router.get("/arpu", response_model=ArpuReport)
async def arpu(_operator: RevenueReader, database: DatabaseDep,
               scope: MonthRangeDep) -> ArpuReport:
    """MRR per paying tenant at each month's close, per currency."""
    rows = await service.arpu(database, scope)
    return ArpuReport(as_of=scope.now, rows=[ArpuMonthPublic.of(row) for row in rows])


@router.get("/subscriptions", response_model=SubscriptionsReport)
async def subscriptions(_operator: RevenueReader, database: DatabaseDep,
                        scope: MonthRangeDep) -> SubscriptionsReport:
    """Subscriptions in force at each month's start and close, and those started and cancelled in it."""
    rows = await service.subscriptions(database, scope)
    return SubscriptionsReport(as_of=scope.now, rows=[SubscriptionMonthPublic.of(row) for row in rows])


@router.get("/churn", response_model=ChurnReport)
async def churn(_operator: RevenueReader, database: DatabaseDep,
                scope: MonthRangeDep) -> ChurnReport:
    """Per month: cancellations in it / subscriptions in force at its start."""
    rows = await service.churn(database, scope)
    return ChurnReport(as_of=scope.now, rows=[ChurnMonthPublic.of(row) for row in rows])


@router.get("/revenue", response_model=RevenueReport)
async def revenue(_operator: RevenueReader, database: DatabaseDep, scope: MonthRangeDep,
                  by: Annotated[Literal["tenant", "plan", "meter"], Query()] = "tenant",
                  ) -> RevenueReport:
    """Issued invoices, net of credits, per month of the billed period, currency and tenant, plan or meter."""
    rows = await service.revenue(database, scope, by)
    return RevenueReport(as_of=scope.now, rows=[RevenueTotalPublic.of(row) for row in rows])


@router.get("/revenue/top", response_model=TopRevenueReport)
async def top_revenue(_operator: RevenueReader, database: DatabaseDep, scope: MonthRangeDep,
                      limit: Limit = 10) -> TopRevenueReport:
    """The tenants of highest revenue over the months, per currency."""
    rows = await service.top_revenue(database, scope, limit)
    return TopRevenueReport(as_of=scope.now, rows=[TenantRevenuePublic.of(row) for row in rows])


@router.get("/usage", response_model=UsageReport)
async def usage(_operator: UsageReader, database: DatabaseDep,
                scope: MonthRangeDep) -> UsageReport:
    """Per tenant, month and meter: events metered, and the quantity of COUNT and SUM meters."""
    rows = await service.usage(database, scope)
    return UsageReport(as_of=scope.now, rows=[TenantUsagePublic.of(row) for row in rows])


@router.get("/usage/top", response_model=TopUsageReport)
async def top_usage(_operator: UsageReader, database: DatabaseDep, scope: MonthRangeDep,
                    limit: Limit = 10) -> TopUsageReport:
    """The tenants that metered the most events over the months, every meter together."""
    rows = await service.top_usage(database, scope, limit)
    return TopUsageReport(as_of=scope.now, rows=[UsageTotalPublic.of(row) for row in rows])
