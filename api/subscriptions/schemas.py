from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from billing_jobs.plans import Plan
from warehouse.postgres.plans import SubscriptionRecord

from ..fields import Instant, ResourceSlug

__all__ = ["SubscriptionCancel", "SubscriptionCreate", "SubscriptionMigrate", "SubscriptionPlanChange", "SubscriptionPublic"]


class SubscriptionCreate(BaseModel):
    plan_slug: ResourceSlug


class SubscriptionMigrate(BaseModel):
    plan_slug: ResourceSlug
    started_at: Instant = Field(description="When the customer's subscription started (with a UTC offset): not in "
                                            "the future, within the usage horizon (35 days by default), and after "
                                            "the end of the tenant's other subscriptions")


class SubscriptionPlanChange(BaseModel):
    plan_slug: ResourceSlug = Field(description="The plan in force from now on; the current one ends now and "
                                                "the period's invoice prorates both")


class SubscriptionCancel(BaseModel):
    # Required, not defaulted: ending a subscription now or at the period's end bills
    # differently, so the caller says which.
    at_period_end: bool = Field(description="true: live and billed until the current period ends; "
                                            "false: ends now, the flat fee prorated to now")


class SubscriptionPublic(BaseModel):
    id: uuid.UUID
    status: str
    started_at: datetime
    canceled_at: datetime | None = Field(description="When it ends (or ended); in the future for a "
                                                     "cancellation at period end")
    cancel_at_period_end: bool
    plan: Plan

    @classmethod
    def of(cls, record: SubscriptionRecord) -> SubscriptionPublic:
        scheduled = record.canceled_at is not None and record.status != "canceled"
        return cls(id=record.id, status=record.status, started_at=record.started_at,
                   canceled_at=record.canceled_at, cancel_at_period_end=scheduled, plan=record.plan)
