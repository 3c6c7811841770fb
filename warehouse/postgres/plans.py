"""Plans (the price catalogue) and tenants' subscriptions to them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, DateTime, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.plans import Plan

from .tables import plan, subscription

__all__ = ["SubscriptionRecord", "insert_plan", "get_plan", "list_plans", "insert_subscription",
           "current_subscription", "lock_subscriptions", "end_expired_subscriptions", "cancel_subscription",
           "change_plan", "billable_subscriptions", "live_subscription_clause", "tenant_subscriptions"]


@dataclass(frozen=True)
class SubscriptionRecord:
    id: uuid.UUID
    tenant_id: uuid.UUID
    plan: Plan
    status: str
    started_at: datetime
    canceled_at: datetime | None


def _plan(definition: dict) -> Plan:
    return Plan.model_validate(definition)


async def insert_plan(conn: AsyncConnection, definition: Plan) -> Plan:
    await conn.execute(insert(plan).values(slug=definition.slug, definition=definition.model_dump(mode="json")))
    return definition


async def get_plan(conn: AsyncConnection, slug: str) -> tuple[uuid.UUID, Plan] | None:
    row = (await conn.execute(select(plan.c.id, plan.c.definition).where(plan.c.slug == slug))).one_or_none()
    return (row.id, _plan(row.definition)) if row else None


async def list_plans(conn: AsyncConnection) -> list[Plan]:
    return [_plan(r.definition) for r in await conn.execute(select(plan.c.definition).order_by(plan.c.slug))]


_SUBSCRIPTION_COLUMNS = (subscription.c.id, subscription.c.tenant_id, plan.c.definition, subscription.c.status,
                         subscription.c.started_at, subscription.c.canceled_at)


def _subscription(row) -> SubscriptionRecord:
    return SubscriptionRecord(row.id, row.tenant_id, _plan(row.definition), row.status, row.started_at, row.canceled_at)


async def insert_subscription(conn: AsyncConnection, tenant_id: uuid.UUID, plan_id: uuid.UUID,
                              started_at: datetime | None = None, status: str = "active") -> SubscriptionRecord:
    values = {"tenant_id": tenant_id, "plan_id": plan_id, "status": status}
    if started_at is not None:
        values["started_at"] = started_at
    new_id = (await conn.execute(insert(subscription).values(**values).returning(subscription.c.id))).scalar_one()
    return await _by_id(conn, new_id)


def live_subscription_clause(now: datetime | ColumnElement) -> ColumnElement[bool]:
    """In force at `now`: started, not yet ended. A cancellation at period end keeps the
    subscription live (status unchanged, canceled_at in the future) until that instant."""
    return and_(subscription.c.status != "canceled", subscription.c.started_at <= now,
                or_(subscription.c.canceled_at.is_(None), subscription.c.canceled_at > now))


async def current_subscription(conn: AsyncConnection, tenant_id: uuid.UUID, now: datetime,
                               *, for_update: bool = False) -> SubscriptionRecord | None:
    """The subscription in force at `now`, if any (with `for_update`, its row locked)."""
    query = (select(*_SUBSCRIPTION_COLUMNS).join(plan, plan.c.id == subscription.c.plan_id)
             .where(subscription.c.tenant_id == tenant_id, live_subscription_clause(now)))
    if for_update:
        query = query.with_for_update(of=subscription)
    row = (await conn.execute(query)).one_or_none()
    return _subscription(row) if row else None


async def lock_subscriptions(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    """Serialise subscription changes of one tenant until the transaction ends.

    Row locks alone would not do: a change ends one row and inserts another, and a
    concurrent request waiting on the first row would then see neither as live."""
    await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"subscription:{tenant_id}"))))


async def end_expired_subscriptions(conn: AsyncConnection, tenant_id: uuid.UUID, now: datetime) -> int:
    """Mark `canceled` the subscriptions whose scheduled end has passed.

    A cancellation at period end leaves the row live-looking (status active) until
    then; its status is settled here, before a new subscription is inserted, so the
    one-live-subscription index (ux_subscription_live) sees it gone."""
    result = await conn.execute(
        update(subscription).where(subscription.c.tenant_id == tenant_id, subscription.c.status != "canceled",
                                   subscription.c.canceled_at <= now)
        .values(status="canceled"))
    return result.rowcount


async def cancel_subscription(conn: AsyncConnection, tenant_id: uuid.UUID, at: datetime,
                              now: datetime | None = None) -> SubscriptionRecord | None:
    """End the tenant's live subscription at `at`; the updated record, or None if none was live.

    `at` in the past or at `now` (default: the database's clock) ends it at once
    (status `canceled`); a later `at` (the period's end) only schedules the end:
    it stays live, and billable, until then.
    """
    clock = func.now() if now is None else now
    new_id = (await conn.execute(
        update(subscription)
        .where(subscription.c.tenant_id == tenant_id, subscription.c.status != "canceled",
               or_(subscription.c.canceled_at.is_(None), subscription.c.canceled_at > clock))
        .values(canceled_at=at,
                status=case((literal(at, DateTime(timezone=True)) <= clock, "canceled"), else_=subscription.c.status))
        .returning(subscription.c.id)
    )).scalar_one_or_none()
    return await _by_id(conn, new_id) if new_id is not None else None


async def change_plan(conn: AsyncConnection, live: SubscriptionRecord, plan_id: uuid.UUID,
                      now: datetime) -> SubscriptionRecord:
    """End `live` at `now` and start the tenant on `plan_id` at the same instant.

    Call inside the caller's transaction, with the live row locked: the two
    subscriptions meet exactly (billing_jobs.segments prorates each side) and
    never overlap. The status carries over, so a change of plan does not clear a
    past_due that dunning set."""
    await conn.execute(update(subscription).where(subscription.c.id == live.id)
                       .values(status="canceled", canceled_at=now))
    return await insert_subscription(conn, live.tenant_id, plan_id, started_at=now, status=live.status)


async def tenant_subscriptions(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[SubscriptionRecord]:
    """Every subscription the tenant ever had, oldest first (ended ones included)."""
    rows = await conn.execute(
        select(*_SUBSCRIPTION_COLUMNS).join(plan, plan.c.id == subscription.c.plan_id)
        .where(subscription.c.tenant_id == tenant_id).order_by(subscription.c.started_at, subscription.c.id))
    return [_subscription(r) for r in rows]


async def _by_id(conn: AsyncConnection, subscription_id: uuid.UUID) -> SubscriptionRecord:
    row = (await conn.execute(
        select(*_SUBSCRIPTION_COLUMNS).join(plan, plan.c.id == subscription.c.plan_id)
        .where(subscription.c.id == subscription_id)
    )).one()
    return _subscription(row)


def billable_subscriptions(conn: Connection, period_start: datetime, period_end: datetime,
                           tenant_id: uuid.UUID | None = None) -> list[SubscriptionRecord]:
    """Subscriptions in force at some point of [start, end) (of one tenant, or all): what the invoice run bills."""
    query = (select(*_SUBSCRIPTION_COLUMNS).join(plan, plan.c.id == subscription.c.plan_id)
             .where(subscription.c.started_at < period_end,
                    (subscription.c.canceled_at.is_(None)) | (subscription.c.canceled_at > period_start))
             .order_by(subscription.c.tenant_id, subscription.c.started_at))
    if tenant_id is not None:
        query = query.where(subscription.c.tenant_id == tenant_id)
    return [_subscription(r) for r in conn.execute(query)]
