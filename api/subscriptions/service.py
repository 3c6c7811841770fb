"""The subscription lifecycle: subscribe, change plan, cancel. Every change happens at one
instant (`now`) in one transaction under a per-tenant lock."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing_jobs.invoicing import billing_period
from billing_jobs.plans import Plan
from billing_jobs.segments import period_bounds
from billing_jobs.usage_totals import UNBILLABLE_REASON, priced_meters, unbillable_meters
from warehouse.postgres.meters import list_meters
from warehouse.postgres.plans import (
    SubscriptionRecord, cancel_subscription, change_plan, current_subscription, end_expired_subscriptions,
    get_plan, insert_subscription, lock_subscriptions,
)

from ..errors import ApiError, violated_constraint

__all__ = ["subscribe", "live_subscription", "switch_plan", "cancel"]


def _already_subscribed(plan_slug: str) -> ApiError:
    return ApiError(409, f"the tenant already has a live subscription (to '{plan_slug}')",
                    code="subscription_exists")


def _plan_field(status_code: int, message: str, reason: str, code: str | None = None) -> ApiError:
    return ApiError(status_code, message, code=code,
                    details=[{"field": "plan_slug", "location": "body", "reason": reason}])


async def _plan(conn: AsyncConnection, slug: str) -> tuple[uuid.UUID, Plan]:
    found = await get_plan(conn, slug)
    if found is None:
        raise _plan_field(404, f"no plan with slug '{slug}'", "unknown plan")
    return found


async def _refuse_unbillable(conn: AsyncConnection, tenant_id: uuid.UUID, plan: Plan) -> None:
    """422 for a plan pricing one of the tenant's UNIQUE_COUNT meters: its invoice would fail
    (flows.invoicing refuses such a tenant), so the subscription is refused up front."""
    aggregations = {m.slug: m.aggregation for m in await list_meters(conn, tenant_id)}
    refused = unbillable_meters(priced_meters([plan]), aggregations)
    if refused:
        names = ", ".join(f"'{slug}'" for slug in refused)
        raise ApiError(422, f"plan '{plan.slug}' prices the UNIQUE_COUNT meter {names}, which cannot be billed yet",
                       code="meter_not_billable",
                       details=[{"field": "plan_slug", "location": "body", "reason": f"meter '{slug}': {UNBILLABLE_REASON}"}
                                for slug in refused])


async def _live(conn: AsyncConnection, tenant_id: uuid.UUID, now) -> SubscriptionRecord:
    live = await current_subscription(conn, tenant_id, now, for_update=True)
    if live is None:
        raise ApiError(404, "the tenant has no live subscription")
    return live


def _ends_already(live: SubscriptionRecord) -> ApiError:
    return ApiError(409, f"the subscription is already cancelled: it ends at {live.canceled_at.isoformat()}",
                    code="cancel_scheduled")


async def subscribe(engine: AsyncEngine, tenant_id: uuid.UUID, plan_slug: str, now: datetime) -> SubscriptionRecord:
    try:
        async with engine.begin() as conn:
            await lock_subscriptions(conn, tenant_id)
            plan_id, plan = await _plan(conn, plan_slug)
            live = await current_subscription(conn, tenant_id, now)
            if live is not None:
                raise _already_subscribed(live.plan.slug)
            await _refuse_unbillable(conn, tenant_id, plan)
            # One cancelled at its period's end is over now, but its row still says active.
            await end_expired_subscriptions(conn, tenant_id, now)
            created = await insert_subscription(conn, tenant_id, plan_id, started_at=now)
    except IntegrityError as exc:
        if violated_constraint(exc) != "ux_subscription_live":
            raise
        # Another live-looking row: one starting later than now (seeded ahead of time).
        raise _already_subscribed(plan_slug) from exc
    return created


async def live_subscription(engine: AsyncEngine, tenant_id: uuid.UUID, now: datetime) -> SubscriptionRecord:
    async with engine.connect() as conn:
        live = await current_subscription(conn, tenant_id, now)
    if live is None:
        raise ApiError(404, "the tenant has no live subscription")
    return live


async def switch_plan(engine: AsyncEngine, tenant_id: uuid.UUID, plan_slug: str, now: datetime) -> SubscriptionRecord:
    """Effective now: the current subscription ends now and one to the new plan starts at the
    same instant; the period's invoice prorates both flat fees and rates usage under each."""
    async with engine.begin() as conn:
        await lock_subscriptions(conn, tenant_id)
        live = await _live(conn, tenant_id, now)
        plan_id, plan = await _plan(conn, plan_slug)
        if plan.slug == live.plan.slug:
            raise _plan_field(409, f"the subscription is already on plan '{plan.slug}'", "the current plan",
                              code="same_plan")
        if live.canceled_at is not None:
            # Changing would either drop the scheduled end silently or carry it to a plan
            # the tenant never chose to end: neither is the caller's evident intent.
            raise _ends_already(live)
        if plan.currency != live.plan.currency:
            # One invoice has one currency (invoicing.compose_segmented_invoice).
            raise _plan_field(422, f"plan '{plan.slug}' is in {plan.currency}, the current plan in "
                                   f"{live.plan.currency}", "currency differs from the current plan's")
        await _refuse_unbillable(conn, tenant_id, plan)
        created = await change_plan(conn, live, plan_id, now)
    return created


async def cancel(engine: AsyncEngine, tenant_id: uuid.UUID, at_period_end: bool, now: datetime) -> SubscriptionRecord:
    """At period end: live and billed until the current period ends, then nothing more.
    At once: ends now (also one already scheduled to end); the fee is prorated to now."""
    async with engine.begin() as conn:
        await lock_subscriptions(conn, tenant_id)
        live = await _live(conn, tenant_id, now)
        if at_period_end:
            if live.canceled_at is not None:
                raise _ends_already(live)
            _, ends_at = period_bounds(*billing_period(now))
        else:
            ends_at = now
        ended = await cancel_subscription(conn, tenant_id, ends_at, now=now)
    if ended is None:  # the live row was locked above: unreachable unless the clock ran backwards
        raise ApiError(409, "the subscription changed while it was being cancelled")
    return ended
