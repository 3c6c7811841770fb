"""The per-tenant audit log: who changed which people, roles, keys, plans or lifecycle.

`record_audit` writes on the caller's connection, so the entry commits or rolls back
with the change it describes: there is no change without its entry, and no entry for
a change that did not happen.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from .people_tables import audit_event

__all__ = ["Actor", "AuditRecord", "SYSTEM", "record_audit", "record_audit_sync", "list_audit"]


@dataclass(frozen=True)
class Actor:
    """Who made a change: a tenant's user, an operator, or the platform itself."""

    kind: str  # user | operator | system
    id: uuid.UUID | None = None
    email: str | None = None


SYSTEM = Actor("system")


@dataclass(frozen=True)
class AuditRecord:
    id: int
    occurred_at: datetime
    actor: Actor
    action: str
    target_kind: str
    target_id: str | None
    details: dict[str, Any] = field(default_factory=dict)


async def record_audit(conn: AsyncConnection, tenant_id: uuid.UUID, actor: Actor, action: str, target_kind: str,
                       target_id: object | None = None, details: dict[str, Any] | None = None) -> None:
    """One entry, in the caller's transaction. `details` must be JSON (strings for amounts)."""
    await conn.execute(_entry(tenant_id, actor, action, target_kind, target_id, details))


def record_audit_sync(conn: Connection, tenant_id: uuid.UUID, actor: Actor, action: str, target_kind: str,
                      target_id: object | None = None, details: dict[str, Any] | None = None) -> None:
    """`record_audit` for the flows' synchronous adapters (dunning, the tenant purge)."""
    conn.execute(_entry(tenant_id, actor, action, target_kind, target_id, details))


def _entry(tenant_id: uuid.UUID, actor: Actor, action: str, target_kind: str, target_id: object | None,
           details: dict[str, Any] | None):
    return insert(audit_event).values(
        tenant_id=tenant_id, actor_kind=actor.kind, actor_id=actor.id, actor_email=actor.email, action=action,
        target_kind=target_kind, target_id=None if target_id is None else str(target_id), details=details or {})


async def list_audit(conn: AsyncConnection, tenant_id: uuid.UUID, limit: int,
                     before: tuple[datetime, int] | None = None) -> list[AuditRecord]:
    """The tenant's entries, newest first; `before` is the (occurred_at, id) of the last one seen."""
    query = select(audit_event).where(audit_event.c.tenant_id == tenant_id)
    if before is not None:
        query = query.where(tuple_(audit_event.c.occurred_at, audit_event.c.id) < tuple_(*before))
    rows = await conn.execute(query.order_by(audit_event.c.occurred_at.desc(), audit_event.c.id.desc()).limit(limit))
    return [AuditRecord(r.id, r.occurred_at, Actor(r.actor_kind, r.actor_id, r.actor_email), r.action, r.target_kind,
                        r.target_id, r.details) for r in rows]
