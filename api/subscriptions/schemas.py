from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from billing_jobs.plans import Plan
from warehouse.postgres.plans import SubscriptionRecord

from ..fields import ResourceSlug

__all__ = ["SubscriptionCreate", "SubscriptionPublic"]


class SubscriptionCreate(BaseModel):
    plan_slug: ResourceSlug


class SubscriptionPublic(BaseModel):
    id: uuid.UUID
    status: str
    started_at: datetime
    canceled_at: datetime | None
    plan: Plan

    @classmethod
    def of(cls, record: SubscriptionRecord) -> SubscriptionPublic:
        return cls(id=record.id, status=record.status, started_at=record.started_at,
                   canceled_at=record.canceled_at, plan=record.plan)
