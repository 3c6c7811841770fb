"""The subscription lifecycle: subscribe, change plan, cancel. Every change happens at one
instant (`now`) in one transaction under a per-tenant lock.

The rules that need no database (`check_plan_change`, `cancellation_end`) are pure
functions, so they are unit-tested on their own.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from billing_jobs.invoicing import billing_period
from billing_jobs.plans import Plan
from billing_jobs.segments import period_bounds
from warehouse.postgres.database import Connection, ConstraintViolation, Database
from warehouse.postgres.meters import list_meters
from warehouse.postgres.plans import (
    SubscriptionRecord, cancel_subscription, change_plan, current_subscription, end_expired_subscriptions,
    get_plan, insert_subscription, lock_subscriptions,
)

from ..billability import refuse_unbillable
from ..domain_errors import Conflict, FieldProblem, InvalidInput, NotFound

__all__ = ["subscribe", "live_subscription", "switch_plan", "cancel", "check_plan_change", "cancellation_end",
           "plan_by_slug", "refuse_unbillable_plan"]

# The partial unique index allowing one live subscription per tenant.
_LIVE_SUBSCRIPTION_INDEX = "ux_subscription_live"


def _already_subscribed(plan_slug: str) -> Conflict:
    return Conflict(f"the tenant already has a live subscription (to '{plan_slug}')", code="subscription_exists")


def _no_live_subscription() -> NotFound:
    return NotFound("the tenant has no live subscription")


def _ends_already(live: SubscriptionRecord) -> Conflict:
    return Conflict(f"the subscription is already cancelled: it ends at {live.canceled_at.isoformat()}",
                    code="cancel_scheduled")


def check_plan_change(live: SubscriptionRecord, plan: Plan) -> None:
    """Why `live` may not switch to `plan` now, as a domain error; None when it may."""
    if plan.slug == live.plan.slug:
        raise Conflict(f"the subscription is already on plan '{plan.slug}'", code="same_plan",
                       problems=[FieldProblem("plan_slug", "the current plan")])
    if live.canceled_at is not None:
        # Changing would either drop the scheduled end silently or carry it to a plan
        # the tenant never chose to end: neither is the caller's evident intent.
        raise _ends_already(live)
    if plan.currency != live.plan.currency:
        # One invoice has one currency (invoicing.compose_segmented_invoice).
        raise InvalidInput(f"plan '{plan.slug}' is in {plan.currency}, the current plan in {live.plan.currency}",
                           problems=[FieldProblem("plan_slug", "currency differs from the current plan's")])


def cancellation_end(live: SubscriptionRecord, at_period_end: bool, now: datetime) -> datetime:
    """When a cancellation requested at `now` ends `live`: now, or the end of the current period."""
    if not at_period_end:
        return now
    if live.canceled_at is not None:
        raise _ends_already(live)
    _, ends_at = period_bounds(*billing_period(now))
    return ends_at


async def plan_by_slug(conn: Connection, slug: str) -> tuple[uuid.UUID, Plan]:
    found = await get_plan(conn, slug)
    if found is None:
        raise NotFound(f"no plan with slug '{slug}'", problems=[FieldProblem("plan_slug", "unknown plan")])
    return found


async def refuse_unbillable_plan(conn: Connection, tenant_id: uuid.UUID, plan: Plan) -> None:
    """A plan pricing one of the tenant's meters that billing cannot combine: its invoice would
    fail (flows.invoicing refuses such a tenant), so the subscription is refused up front."""
    refuse_unbillable(plan, {m.slug: m.aggregation for m in await list_meters(conn, tenant_id)})


async def _live(conn: Connection, tenant_id: uuid.UUID, now: datetime) -> SubscriptionRecord:
    live = await current_subscription(conn, tenant_id, now, for_update=True)
    if live is None:
        raise _no_live_subscription()
    return live


async def subscribe(database: Database, tenant_id: uuid.UUID, plan_slug: str, now: datetime) -> SubscriptionRecord:
    try:
        async with database.begin() as conn:
            await lock_subscriptions(conn, tenant_id)
            plan_id, plan = await plan_by_slug(conn, plan_slug)
            live = await current_subscription(conn, tenant_id, now)
            if live is not None:
                raise _already_subscribed(live.plan.slug)
            await refuse_unbillable_plan(conn, tenant_id, plan)
            # One cancelled at its period's end is over now, but its row still says active.
            await end_expired_subscriptions(conn, tenant_id, now)
            return await insert_subscription(conn, tenant_id, plan_id, started_at=now)
    except ConstraintViolation as exc:
        if exc.constraint != _LIVE_SUBSCRIPTION_INDEX:
            raise
        # Another live-looking row: one starting later than now (seeded ahead of time).
        raise _already_subscribed(plan_slug) from exc


async def live_subscription(database: Database, tenant_id: uuid.UUID, now: datetime) -> SubscriptionRecord:
    async with database.connect() as conn:
        live = await current_subscription(conn, tenant_id, now)
    if live is None:
        raise _no_live_subscription()
    return live


async def switch_plan(database: Database, tenant_id: uuid.UUID, plan_slug: str, now: datetime) -> SubscriptionRecord:
    """Effective now: the current subscription ends now and one to the new plan starts at the
    same instant; the period's invoice prorates both flat fees and rates usage under each."""
    async with database.begin() as conn:
        await lock_subscriptions(conn, tenant_id)
        live = await _live(conn, tenant_id, now)
        plan_id, plan = await plan_by_slug(conn, plan_slug)
        check_plan_change(live, plan)
        await refuse_unbillable_plan(conn, tenant_id, plan)
        return await change_plan(conn, live, plan_id, now)


async def cancel(database: Database, tenant_id: uuid.UUID, at_period_end: bool, now: datetime) -> SubscriptionRecord:
    """At period end: live and billed until the current period ends, then nothing more.
    At once: ends now (also one already scheduled to end); the fee is prorated to now."""
    async with database.begin() as conn:
        await lock_subscriptions(conn, tenant_id)
        live = await _live(conn, tenant_id, now)
        ended = await cancel_subscription(conn, tenant_id, cancellation_end(live, at_period_end, now), now=now)
    if ended is None:  # the live row was locked above: unreachable unless the clock ran backwards
        raise Conflict("the subscription changed while it was being cancelled")
    return ended
