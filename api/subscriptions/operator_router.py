"""Operators' subscription operations on any tenant: migrating a customer in with a
subscription that started in the past (rules in migration.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from ..deps import DatabaseDep
from ..errors import error_responses
from ..operator_deps import require_permission
from .deps import Now, UsageHorizon
from .migration import migrate_subscription
from .schemas import SubscriptionMigrate, SubscriptionPublic

router = APIRouter(prefix="/v1/operator/tenants/{tenant_id}/subscriptions", tags=["operator"],
                   responses=error_responses((401, "No operator access token, or not an operator's"),
                                             (403, "The operator's role may not run billing operations")))


@router.post("", response_model=SubscriptionPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(require_permission("billing.run"))],
             responses=error_responses(400, (404, "No such tenant or plan")))
async def migrate(tenant_id: Annotated[uuid.UUID, Path()], body: SubscriptionMigrate,
                  database: DatabaseDep, now: Now, horizon: UsageHorizon) -> SubscriptionPublic:
    """Create the tenant's subscription as started at `started_at` in the past (a customer
    migrated in): the closed periods it covers are then billed by the invoice run, the flat fee
    prorated from `started_at`. 422 with the reason (`started_in_future`, `beyond_usage_horizon`,
    `overlaps_subscription`, `period_invoiced`, `meter_not_billable`) otherwise."""
    record = await migrate_subscription(database, tenant_id, body.plan_slug, body.started_at, now, horizon)
    return SubscriptionPublic.of(record)
