"""Invitations to join a tenant: single-use, expiring; only a SHA-256 of the token is stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .people_tables import user_invitation

__all__ = ["InvitationRecord", "create_invitation", "list_invitations", "revoke_invitation", "claim_invitation",
           "mark_accepted"]


@dataclass(frozen=True)
class InvitationRecord:
    id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    role: str
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


def _record(row) -> InvitationRecord:
    return InvitationRecord(row.id, row.tenant_id, row.email, row.role, row.invited_by, row.created_at,
                            row.expires_at, row.accepted_at, row.revoked_at)


def _pending(tenant_id: uuid.UUID):
    return (user_invitation.c.tenant_id == tenant_id, user_invitation.c.accepted_at.is_(None),
            user_invitation.c.revoked_at.is_(None))


async def create_invitation(conn: AsyncConnection, tenant_id: uuid.UUID, email: str, role: str, token_hash: str,
                            invited_by: uuid.UUID, expires_at: datetime) -> InvitationRecord:
    """A new invitation replaces any pending one for the same address: only the latest token works."""
    await conn.execute(update(user_invitation).where(*_pending(tenant_id), user_invitation.c.email == email.lower())
                       .values(revoked_at=func.now()))
    row = (await conn.execute(insert(user_invitation).values(
        tenant_id=tenant_id, email=email.lower(), role=role, token_hash=token_hash, invited_by=invited_by,
        expires_at=expires_at).returning(*user_invitation.c))).one()
    return _record(row)


async def list_invitations(conn: AsyncConnection, tenant_id: uuid.UUID, now: datetime) -> list[InvitationRecord]:
    """The tenant's pending, unexpired invitations, newest first."""
    rows = await conn.execute(select(user_invitation).where(*_pending(tenant_id), user_invitation.c.expires_at > now)
                              .order_by(user_invitation.c.created_at.desc(), user_invitation.c.id))
    return [_record(r) for r in rows]


async def revoke_invitation(conn: AsyncConnection, tenant_id: uuid.UUID, invitation_id: uuid.UUID) -> bool:
    result = await conn.execute(update(user_invitation).where(*_pending(tenant_id), user_invitation.c.id == invitation_id)
                                .values(revoked_at=func.now()))
    return result.rowcount == 1


async def claim_invitation(conn: AsyncConnection, token_hash: str, *, lock: bool = True) -> InvitationRecord | None:
    """The invitation of this token, locked until the transaction ends unless `lock` is off
    (accepting it twice at once must create one user)."""
    query = select(user_invitation).where(user_invitation.c.token_hash == token_hash)
    row = (await conn.execute(query.with_for_update() if lock else query)).one_or_none()
    return _record(row) if row else None


async def mark_accepted(conn: AsyncConnection, invitation_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(update(user_invitation).where(user_invitation.c.id == invitation_id).values(accepted_at=now))
