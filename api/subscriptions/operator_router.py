"""Operators' subscription operations on any tenant: migrating a customer in with a
subscription that started in the past (rules in migration.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, status

from ..deps import DatabaseDep, OperatorDep
from ..errors import error_responses
from .deps import Now, UsageHorizon
from .migration import migrate_subscription
from .schemas import SubscriptionMigrate, SubscriptionPublic

router = APIRouter(prefix="/v1/operator/tenants/{tenant_id}/subscriptions", tags=["operator"],
                   responses=error_responses((401, "No operator token"), (403, "Not the operator token")))


@router.post("", response_model=SubscriptionPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses((404, "No such tenant or plan")))
async def migrate(tenant_id: Annotated[uuid.UUID, Path()], body: SubscriptionMigrate, _operator: OperatorDep,
                  database: DatabaseDep, now: Now, horizon: UsageHorizon) -> SubscriptionPublic:
    """Create the tenant's subscription as started at `started_at` in the past (a customer
    migrated in): the closed periods it covers are then billed by the invoice run, the flat fee
    prorated from `started_at`. 422 with the reason (`started_in_future`, `beyond_usage_horizon`,
    `overlaps_subscription`, `meter_not_billable`) otherwise."""
    record = await migrate_subscription(database, tenant_id, body.plan_slug, body.started_at, now, horizon)
    return SubscriptionPublic.of(record)
