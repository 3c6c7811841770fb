"""A tenant's users (the shared `app_user` table): listed, added, re-roled, removed, and
the one read every authenticated request makes (`caller_state`).

Every function takes the tenant id and filters on it, so a user id of another tenant
is simply not found. The database keeps exactly one owner per tenant (shared_1000):
a second owner is a unique violation (`app_user_one_owner`), none at commit a check
violation (`app_user_keeps_owner`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .people_tables import user_session
from .tables import app_user, tenant
from .tenants import TenantRecord, UserRecord

__all__ = ["MemberRecord", "CallerState", "list_users", "get_user", "insert_user", "set_user_role", "delete_user",
           "set_password_hash", "caller_state", "owner_of"]


@dataclass(frozen=True)
class MemberRecord:
    id: uuid.UUID
    email: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class CallerState:
    """What a request needs to know of its caller, as stored now (not as the token says)."""

    role: str
    email: str
    tenant: TenantRecord


def _user(row) -> UserRecord:
    return UserRecord(row.id, row.tenant_id, row.email, row.password_hash, row.role)


async def list_users(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[MemberRecord]:
    rows = await conn.execute(select(app_user).where(app_user.c.tenant_id == tenant_id)
                              .order_by(app_user.c.created_at, app_user.c.id))
    return [MemberRecord(r.id, r.email, r.role, r.created_at) for r in rows]


async def get_user(conn: AsyncConnection, tenant_id: uuid.UUID, user_id: uuid.UUID, *,
                   for_update: bool = False) -> UserRecord | None:
    query = select(app_user).where(app_user.c.id == user_id, app_user.c.tenant_id == tenant_id)
    row = (await conn.execute(query.with_for_update() if for_update else query)).one_or_none()
    return _user(row) if row else None


async def owner_of(conn: AsyncConnection, tenant_id: uuid.UUID) -> UserRecord | None:
    row = (await conn.execute(select(app_user).where(app_user.c.tenant_id == tenant_id,
                                                     app_user.c.role == "owner"))).one_or_none()
    return _user(row) if row else None


async def insert_user(conn: AsyncConnection, tenant_id: uuid.UUID, email: str, password_hash: str,
                      role: str) -> UserRecord:
    row = (await conn.execute(insert(app_user).values(tenant_id=tenant_id, email=email.lower(),
                                                      password_hash=password_hash, role=role)
                              .returning(*app_user.c))).one()
    return _user(row)


async def set_user_role(conn: AsyncConnection, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str) -> bool:
    result = await conn.execute(update(app_user).where(app_user.c.id == user_id, app_user.c.tenant_id == tenant_id)
                                .values(role=role))
    return result.rowcount == 1


async def delete_user(conn: AsyncConnection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Its sessions go with it (ON DELETE CASCADE); its API keys stay, owned by nobody."""
    result = await conn.execute(delete(app_user).where(app_user.c.id == user_id, app_user.c.tenant_id == tenant_id))
    return result.rowcount == 1


async def set_password_hash(conn: AsyncConnection, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(update(app_user).where(app_user.c.id == user_id).values(password_hash=password_hash))


# Built once: this runs on every authenticated request, and building the statement
# costs about as much Python time as running it (bench/api_caller_state.py).
_CALLER_STATE = (
    select(app_user.c.role, app_user.c.email, tenant.c.id, tenant.c.slug, tenant.c.name, tenant.c.status,
           tenant.c.schema_name, tenant.c.stripe_customer_id)
    .select_from(app_user.join(tenant, tenant.c.id == app_user.c.tenant_id)
                 .join(user_session, and_(user_session.c.id == bindparam("session_id"),
                                          user_session.c.user_id == app_user.c.id)))
    .where(app_user.c.id == bindparam("user_id"), app_user.c.tenant_id == bindparam("tenant_id"),
           user_session.c.revoked_at.is_(None))
)


async def caller_state(conn: AsyncConnection, user_id: uuid.UUID, tenant_id: uuid.UUID,
                       session_id: uuid.UUID) -> CallerState | None:
    """The user's stored role and tenant, if the user still belongs to that tenant and the
    session the token came from is not revoked; else None. One join of primary keys."""
    row = (await conn.execute(_CALLER_STATE, {"user_id": user_id, "tenant_id": tenant_id,
                                              "session_id": session_id})).one_or_none()
    if row is None:
        return None
    return CallerState(row.role, row.email, TenantRecord(row.id, row.slug, row.name, row.status, row.schema_name,
                                                         row.stripe_customer_id))
