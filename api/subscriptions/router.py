"""The caller's tenant's subscription: admins and above subscribe, change plan and cancel;
anyone reads. The lifecycle's rules are in service.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from ..deps import CurrentPrincipal, DatabaseDep, require_role
from ..errors import error_responses
from . import service
from .deps import Now
from .schemas import SubscriptionCancel, SubscriptionCreate, SubscriptionPlanChange, SubscriptionPublic

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], responses=error_responses(401))

_ADMIN = [Depends(require_role("admin"))]
_NO_PLAN = (404, "No such plan, or no live subscription")
_STATE = (409, "The subscription's state forbids it (already subscribed, same plan, already cancelled)")


@router.post("", response_model=SubscriptionPublic, status_code=status.HTTP_201_CREATED, dependencies=_ADMIN,
             responses=error_responses(400, 403, _NO_PLAN, _STATE))
async def subscribe(body: SubscriptionCreate, principal: CurrentPrincipal, database: DatabaseDep,
                    now: Now) -> SubscriptionPublic:
    return SubscriptionPublic.of(await service.subscribe(database, principal.tenant_id, body.plan_slug, now))


@router.get("/current", response_model=SubscriptionPublic, responses=error_responses((404, "No live subscription")))
async def current(principal: CurrentPrincipal, database: DatabaseDep, now: Now) -> SubscriptionPublic:
    return SubscriptionPublic.of(await service.live_subscription(database, principal.tenant_id, now))


@router.post("/current/change-plan", response_model=SubscriptionPublic, dependencies=_ADMIN,
             responses=error_responses(400, 403, _NO_PLAN, _STATE))
async def change(body: SubscriptionPlanChange, principal: CurrentPrincipal, database: DatabaseDep,
                 now: Now) -> SubscriptionPublic:
    """Effective now: the current subscription ends now and one to the new plan starts at the
    same instant; the period's invoice prorates both flat fees and rates usage under each."""
    return SubscriptionPublic.of(await service.switch_plan(database, principal.tenant_id, body.plan_slug, now))


@router.post("/current/cancel", response_model=SubscriptionPublic, dependencies=_ADMIN,
             responses=error_responses(400, 403, (404, "No live subscription"), _STATE))
async def cancel(body: SubscriptionCancel, principal: CurrentPrincipal, database: DatabaseDep,
                 now: Now) -> SubscriptionPublic:
    """At period end: live and billed until the current period ends, then nothing more.
    At once: ends now (also one already scheduled to end); the fee is prorated to now."""
    return SubscriptionPublic.of(await service.cancel(database, principal.tenant_id, body.at_period_end, now))
