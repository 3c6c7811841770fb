"""The caller's tenant's subscription: admins and above subscribe; anyone reads."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from sqlalchemy.exc import IntegrityError

from warehouse.postgres.plans import current_subscription, get_plan, insert_subscription

from ..deps import CurrentPrincipal, EngineDep, require_role
from ..errors import ApiError, violated_constraint
from .schemas import SubscriptionCreate, SubscriptionPublic

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


def _already_subscribed(plan_slug: str) -> ApiError:
    return ApiError(409, f"the tenant already has a live subscription (to '{plan_slug}')",
                    code="subscription_exists")


@router.post("", response_model=SubscriptionPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(require_role("admin"))])
async def subscribe(body: SubscriptionCreate, principal: CurrentPrincipal, engine: EngineDep) -> SubscriptionPublic:
    try:
        async with engine.begin() as conn:
            found = await get_plan(conn, body.plan_slug)
            if found is None:
                raise ApiError(404, f"no plan with slug '{body.plan_slug}'",
                               details=[{"field": "plan_slug", "location": "body", "reason": "unknown plan"}])
            live = await current_subscription(conn, principal.tenant_id)
            if live is not None:
                raise _already_subscribed(live.plan.slug)
            plan_id, _ = found
            created = await insert_subscription(conn, principal.tenant_id, plan_id)
    except IntegrityError as exc:
        if violated_constraint(exc) != "ux_subscription_live":
            raise
        # A concurrent request subscribed first.
        raise _already_subscribed(body.plan_slug) from exc
    return SubscriptionPublic.of(created)


@router.get("/current", response_model=SubscriptionPublic)
async def current(principal: CurrentPrincipal, engine: EngineDep) -> SubscriptionPublic:
    async with engine.connect() as conn:
        live = await current_subscription(conn, principal.tenant_id)
    if live is None:
        raise ApiError(404, "the tenant has no live subscription")
    return SubscriptionPublic.of(live)
