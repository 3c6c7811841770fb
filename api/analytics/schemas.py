"""Answers of the analytics routes. Amounts are decimal strings in major units with their
currency (never floats); months are YYYY-MM in UTC. docs/analytics.md defines each field."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from billing_jobs.analytics import (
    ArpuMonth, ChurnMonth, MrrMonth, RevenueTotal, SubscriptionMonth, TenantRevenue, TenantUsage, UsageTotal,
)

__all__ = ["AnalyticsReport", "MrrReport", "ArpuReport", "SubscriptionsReport", "ChurnReport", "RevenueReport",
           "TopRevenueReport", "UsageReport", "TopUsageReport",
           "ArpuMonthPublic", "ChurnMonthPublic", "MrrMonthPublic", "RevenueTotalPublic",
           "SubscriptionMonthPublic", "TenantRevenuePublic", "TenantUsagePublic", "UsageTotalPublic"]

Row = TypeVar("Row")


class AnalyticsReport(BaseModel, Generic[Row]):
    as_of: datetime = Field(description="The instant the month under way is read at (earlier months at their end)")
    rows: list[Row]


class MrrMonthPublic(BaseModel):
    month: str
    currency: str
    starting_mrr: Decimal = Field(description="MRR at the previous month's close")
    new: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    reactivation: Decimal
    mrr: Decimal = Field(description="starting_mrr + new + expansion + reactivation - contraction - churn")
    arr: Decimal = Field(description="12 x mrr")
    paying_tenants: int

    @classmethod
    def of(cls, row: MrrMonth) -> MrrMonthPublic:
        return cls(month=str(row.month), currency=row.currency, starting_mrr=row.starting_mrr, new=row.new,
                   expansion=row.expansion, contraction=row.contraction, churn=row.churn,
                   reactivation=row.reactivation, mrr=row.mrr, arr=row.arr, paying_tenants=row.paying_tenants)


class ArpuMonthPublic(BaseModel):
    month: str
    currency: str
    mrr: Decimal
    paying_tenants: int
    arpu: Decimal | None = Field(description="mrr / paying_tenants, rounded half up to the minor unit; "
                                             "null when nobody pays in that currency")

    @classmethod
    def of(cls, row: ArpuMonth) -> ArpuMonthPublic:
        return cls(month=str(row.month), currency=row.currency, mrr=row.mrr, paying_tenants=row.paying_tenants,
                   arpu=row.arpu)


class SubscriptionMonthPublic(BaseModel):
    month: str
    active_at_start: int
    started: int = Field(description="Subscriptions started in the month (a plan change is not one)")
    canceled: int = Field(description="Subscriptions ended in the month (a plan change is not one)")
    active_at_end: int

    @classmethod
    def of(cls, row: SubscriptionMonth) -> SubscriptionMonthPublic:
        return cls(month=str(row.month), active_at_start=row.active_at_start, started=row.started,
                   canceled=row.canceled, active_at_end=row.active_at_end)


class ChurnMonthPublic(BaseModel):
    month: str
    active_at_start: int
    cancellations: int
    rate: Decimal | None = Field(description="cancellations / active_at_start, 4 decimal places; null when 0 active")

    @classmethod
    def of(cls, row: ChurnMonth) -> ChurnMonthPublic:
        return cls(month=str(row.month), active_at_start=row.active_at_start, cancellations=row.cancellations,
                   rate=row.rate)


class RevenueTotalPublic(BaseModel):
    month: str
    currency: str
    key: str | None = Field(description="The tenant's, plan's or meter's slug; for by=meter, null is the lines "
                                        "of no meter (the flat fee)")
    amount: Decimal

    @classmethod
    def of(cls, row: RevenueTotal) -> RevenueTotalPublic:
        return cls(month=str(row.month), currency=row.currency, key=row.key, amount=row.amount)


class TenantRevenuePublic(BaseModel):
    tenant_id: str
    tenant_slug: str
    currency: str
    amount: Decimal

    @classmethod
    def of(cls, row: TenantRevenue) -> TenantRevenuePublic:
        return cls(tenant_id=row.tenant_id, tenant_slug=row.tenant_slug, currency=row.currency, amount=row.amount)


class TenantUsagePublic(BaseModel):
    tenant_id: str
    tenant_slug: str
    month: str
    meter_slug: str
    aggregation: str
    events: int
    quantity: Decimal | None = Field(description="The month's total for COUNT and SUM meters; null for the others")

    @classmethod
    def of(cls, row: TenantUsage) -> TenantUsagePublic:
        return cls(tenant_id=row.tenant_id, tenant_slug=row.tenant_slug, month=str(row.month),
                   meter_slug=row.meter_slug, aggregation=row.aggregation, events=row.events, quantity=row.quantity)


class UsageTotalPublic(BaseModel):
    tenant_id: str
    tenant_slug: str
    events: int

    @classmethod
    def of(cls, row: UsageTotal) -> UsageTotalPublic:
        return cls(tenant_id=row.tenant_id, tenant_slug=row.tenant_slug, events=row.events)


# Named reports, so that clients' generated types read as words, not AnalyticsReport_X_.


class MrrReport(AnalyticsReport[MrrMonthPublic]):
    pass


class ArpuReport(AnalyticsReport[ArpuMonthPublic]):
    pass


class SubscriptionsReport(AnalyticsReport[SubscriptionMonthPublic]):
    pass


class ChurnReport(AnalyticsReport[ChurnMonthPublic]):
    pass


class RevenueReport(AnalyticsReport[RevenueTotalPublic]):
    pass


class TopRevenueReport(AnalyticsReport[TenantRevenuePublic]):
    pass


class UsageReport(AnalyticsReport[TenantUsagePublic]):
    pass


class TopUsageReport(AnalyticsReport[UsageTotalPublic]):
    pass
