"""The lifecycle columns of a tenant (shared_1050): read them, lock them, write a new state.

The transitions themselves are billing_jobs.lifecycle's (pure); this module only moves a
`TenantState` in and out of the `tenant` row, async for the API and sync for dunning.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.lifecycle import TenantState

from .tables import plan, subscription, tenant

__all__ = ["TenantLifecycle", "load_lifecycle", "save_lifecycle", "load_state_sync", "save_state_sync",
           "record_export_taken", "state_of", "tenants_due_for_purge", "TenantListing", "list_tenant_page"]


@dataclass(frozen=True)
class TenantLifecycle:
    id: uuid.UUID
    slug: str
    name: str
    schema_name: str
    stripe_customer_id: str | None
    created_at: datetime
    status_changed_at: datetime | None
    state: TenantState


def state_of(row) -> TenantState:
    return TenantState(row.status, row.suspended_by, row.status_reason, row.export_taken_at,
                       row.deletion_requested_at, row.purge_after)


def _lifecycle(row) -> TenantLifecycle:
    return TenantLifecycle(row.id, row.slug, row.name, row.schema_name, row.stripe_customer_id, row.created_at,
                           row.status_changed_at, state_of(row))


def _values(state: TenantState, now: datetime) -> dict:
    return dict(status=state.status, suspended_by=state.suspended_by, status_reason=state.status_reason,
                export_taken_at=state.export_taken_at, deletion_requested_at=state.deletion_requested_at,
                purge_after=state.purge_after, status_changed_at=now)


async def load_lifecycle(conn: AsyncConnection, tenant_id: uuid.UUID, *, for_update: bool = False
                         ) -> TenantLifecycle | None:
    query = select(tenant).where(tenant.c.id == tenant_id)
    row = (await conn.execute(query.with_for_update() if for_update else query)).one_or_none()
    return _lifecycle(row) if row else None


async def save_lifecycle(conn: AsyncConnection, tenant_id: uuid.UUID, state: TenantState, now: datetime) -> None:
    await conn.execute(update(tenant).where(tenant.c.id == tenant_id).values(**_values(state, now)))


async def record_export_taken(conn: AsyncConnection, tenant_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(update(tenant).where(tenant.c.id == tenant_id).values(export_taken_at=now))


def load_state_sync(conn: Connection, tenant_id: uuid.UUID) -> TenantState | None:
    row = conn.execute(select(tenant).where(tenant.c.id == tenant_id).with_for_update()).one_or_none()
    return state_of(row) if row else None


def save_state_sync(conn: Connection, tenant_id: uuid.UUID, state: TenantState, now: datetime) -> None:
    conn.execute(update(tenant).where(tenant.c.id == tenant_id).values(**_values(state, now)))


def tenants_due_for_purge(conn: Connection, now: datetime) -> list[uuid.UUID]:
    return list(conn.execute(select(tenant.c.id).where(tenant.c.status == "deleting", tenant.c.purge_after <= now)
                             .order_by(tenant.c.purge_after)).scalars())


@dataclass(frozen=True)
class TenantListing:
    tenant: TenantLifecycle
    plan_slug: str | None
    subscription_status: str | None


async def list_tenant_page(conn: AsyncConnection, *, status: str | None, after_slug: str | None,
                           limit: int) -> list[TenantListing]:
    """Tenants by slug after `after_slug`, each with its latest subscription that is not cancelled."""
    current = (select(plan.c.slug.label("plan_slug"), subscription.c.status.label("subscription_status"))
               .join(plan, plan.c.id == subscription.c.plan_id)
               .where(subscription.c.tenant_id == tenant.c.id, subscription.c.status != "canceled")
               .order_by(subscription.c.started_at.desc()).limit(1).lateral("current"))
    query = (select(tenant, current.c.plan_slug, current.c.subscription_status)
             .outerjoin(current, true()).order_by(tenant.c.slug).limit(limit))
    if status is not None:
        query = query.where(tenant.c.status == status)
    if after_slug is not None:
        query = query.where(tenant.c.slug > after_slug)
    return [TenantListing(_lifecycle(row), row.plan_slug, row.subscription_status)
            for row in await conn.execute(query)]
