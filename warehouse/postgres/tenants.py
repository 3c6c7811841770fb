"""Tenants and their users in the shared schema; a tenant's schema is created with it."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from warehouse.migrations.runner import migrate_tenant
from warehouse.tenancy import schema_for

from .tables import app_user, tenant

__all__ = ["TenantRecord", "UserRecord", "insert_tenant", "get_tenant", "get_tenant_by_slug",
           "set_stripe_customer", "find_user_by_email", "list_tenants", "set_tenant_status"]


@dataclass(frozen=True)
class TenantRecord:
    id: uuid.UUID
    slug: str
    name: str
    status: str
    schema_name: str
    stripe_customer_id: str | None


@dataclass(frozen=True)
class UserRecord:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    password_hash: str
    role: str


# Alembic keeps the running migration's context in module globals (alembic.context, .op),
# and run_sync's greenlet yields to the event loop at every statement: two registrations in
# one process would each run inside the other's context (a 500 for both). One at a time per
# event loop; other processes have globals of their own.
_schema_migrations: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _schema_migration_lock() -> asyncio.Lock:
    return _schema_migrations.setdefault(asyncio.get_running_loop(), asyncio.Lock())


def _tenant(row) -> TenantRecord:
    return TenantRecord(row.id, row.slug, row.name, row.status, row.schema_name, row.stripe_customer_id)


async def insert_tenant(conn: AsyncConnection, *, slug: str, name: str, owner_email: str,
                        owner_password_hash: str) -> tuple[TenantRecord, UserRecord]:
    """Tenant row, its schema at the tenant head, and its owner, in the caller's transaction."""
    schema_name = schema_for(slug)
    row = (await conn.execute(
        insert(tenant).values(slug=slug, name=name, schema_name=schema_name).returning(*tenant.c)
    )).one()
    async with _schema_migration_lock():
        await conn.run_sync(migrate_tenant, schema_name)
    user = (await conn.execute(
        insert(app_user).values(tenant_id=row.id, email=owner_email.lower(), password_hash=owner_password_hash,
                                role="owner").returning(*app_user.c)
    )).one()
    return _tenant(row), UserRecord(user.id, user.tenant_id, user.email, user.password_hash, user.role)


async def get_tenant(conn: AsyncConnection, tenant_id: uuid.UUID) -> TenantRecord | None:
    row = (await conn.execute(select(tenant).where(tenant.c.id == tenant_id))).one_or_none()
    return _tenant(row) if row else None


async def get_tenant_by_slug(conn: AsyncConnection, slug: str) -> TenantRecord | None:
    row = (await conn.execute(select(tenant).where(tenant.c.slug == slug))).one_or_none()
    return _tenant(row) if row else None


async def list_tenants(conn: AsyncConnection) -> list[TenantRecord]:
    return [_tenant(r) for r in await conn.execute(select(tenant).order_by(tenant.c.slug))]


async def set_stripe_customer(conn: AsyncConnection, tenant_id: uuid.UUID, customer_id: str) -> None:
    await conn.execute(update(tenant).where(tenant.c.id == tenant_id).values(stripe_customer_id=customer_id))


async def set_tenant_status(conn: AsyncConnection, tenant_id: uuid.UUID, status: str) -> None:
    await conn.execute(update(tenant).where(tenant.c.id == tenant_id).values(status=status))


async def find_user_by_email(conn: AsyncConnection, email: str) -> UserRecord | None:
    row = (await conn.execute(select(app_user).where(app_user.c.email == email.lower()))).one_or_none()
    return UserRecord(row.id, row.tenant_id, row.email, row.password_hash, row.role) if row else None
