"""Plans (the price catalogue) and tenants' subscriptions to them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.plans import Plan

from .tables import plan, subscription

__all__ = ["SubscriptionRecord", "insert_plan", "get_plan", "list_plans", "insert_subscription",
           "current_subscription", "cancel_subscription", "billable_subscriptions"]


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
                              started_at: datetime | None = None) -> SubscriptionRecord:
    values = {"tenant_id": tenant_id, "plan_id": plan_id}
    if started_at is not None:
        values["started_at"] = started_at
    new_id = (await conn.execute(insert(subscription).values(**values).returning(subscription.c.id))).scalar_one()
    row = (await conn.execute(
        select(*_SUBSCRIPTION_COLUMNS).join(plan, plan.c.id == subscription.c.plan_id).where(subscription.c.id == new_id)
    )).one()
    return _subscription(row)


async def current_subscription(conn: AsyncConnection, tenant_id: uuid.UUID) -> SubscriptionRecord | None:
    row = (await conn.execute(
        select(*_SUBSCRIPTION_COLUMNS).join(plan, plan.c.id == subscription.c.plan_id)
        .where(subscription.c.tenant_id == tenant_id, subscription.c.status != "canceled")
    )).one_or_none()
    return _subscription(row) if row else None


async def cancel_subscription(conn: AsyncConnection, tenant_id: uuid.UUID, at: datetime) -> bool:
    result = await conn.execute(
        update(subscription).where(subscription.c.tenant_id == tenant_id, subscription.c.status != "canceled")
        .values(status="canceled", canceled_at=at)
    )
    return result.rowcount == 1


def billable_subscriptions(conn: Connection, period_start: datetime, period_end: datetime) -> list[SubscriptionRecord]:
    """Subscriptions in force at some point of [start, end): what the invoice run bills."""
    rows = conn.execute(
        select(*_SUBSCRIPTION_COLUMNS).join(plan, plan.c.id == subscription.c.plan_id)
        .where(subscription.c.started_at < period_end,
               (subscription.c.canceled_at.is_(None)) | (subscription.c.canceled_at > period_start))
        .order_by(subscription.c.tenant_id, subscription.c.started_at)
    )
    return [_subscription(r) for r in rows]
