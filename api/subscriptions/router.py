"""The caller's tenant's subscription: admins and above subscribe, change plan and cancel;
anyone reads (api/permissions.py); each change is in the audit log. The lifecycle's rules are in service.py."""

from __future__ import annotations

from fastapi import APIRouter, status

from ..deps import CurrentCaller, DatabaseDep, caller_actor
from ..errors import error_responses
from . import service
from .deps import Now
from .schemas import SubscriptionCancel, SubscriptionCreate, SubscriptionPlanChange, SubscriptionPublic

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], responses=error_responses(401))

_NO_PLAN = (404, "No such plan, or no live subscription")
_STATE = (409, "The subscription's state forbids it (already subscribed, same plan, already cancelled)")


@router.post("", response_model=SubscriptionPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400, 403, _NO_PLAN, _STATE))
async def subscribe(body: SubscriptionCreate, caller: CurrentCaller, database: DatabaseDep,
                    now: Now) -> SubscriptionPublic:
    subscribed = await service.subscribe(database, caller.principal.tenant_id, body.plan_slug, now, caller_actor(caller))
    return SubscriptionPublic.of(subscribed)


@router.get("/current", response_model=SubscriptionPublic, responses=error_responses((404, "No live subscription")))
async def current(caller: CurrentCaller, database: DatabaseDep, now: Now) -> SubscriptionPublic:
    return SubscriptionPublic.of(await service.live_subscription(database, caller.principal.tenant_id, now))


@router.post("/current/change-plan", response_model=SubscriptionPublic,
             responses=error_responses(400, 403, _NO_PLAN, _STATE))
async def change(body: SubscriptionPlanChange, caller: CurrentCaller, database: DatabaseDep,
                 now: Now) -> SubscriptionPublic:
    """Effective now: the current subscription ends now and one to the new plan starts at the
    same instant; the period's invoice prorates both flat fees and rates usage under each."""
    switched = await service.switch_plan(database, caller.principal.tenant_id, body.plan_slug, now,
                                         caller_actor(caller))
    return SubscriptionPublic.of(switched)


@router.post("/current/cancel", response_model=SubscriptionPublic,
             responses=error_responses(400, 403, (404, "No live subscription"), _STATE))
async def cancel(body: SubscriptionCancel, caller: CurrentCaller, database: DatabaseDep,
                 now: Now) -> SubscriptionPublic:
    """At period end: live and billed until the current period ends, then nothing more.
    At once: ends now (also one already scheduled to end); the fee is prorated to now."""
    ended = await service.cancel(database, caller.principal.tenant_id, body.at_period_end, now, caller_actor(caller))
    return SubscriptionPublic.of(ended)
