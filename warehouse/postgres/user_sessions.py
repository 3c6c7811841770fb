"""Sessions (refresh-token families) and their refresh tokens; only SHA-256 hashes are stored.

`claim_refresh_token` locks the presented token's row, so two requests racing with the
same token cannot both rotate it: the second sees it used, which is reuse.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .people_tables import refresh_token, user_session
from .tables import app_user

__all__ = ["PresentedRefreshToken", "open_session", "add_refresh_token", "claim_refresh_token", "mark_used",
           "revoke_session", "revoke_user_sessions"]


@dataclass(frozen=True)
class PresentedRefreshToken:
    """A refresh token as stored, with its session and user, read under a row lock."""

    session_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None
    session_revoked_at: datetime | None
    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: str


async def open_session(conn: AsyncConnection, user_id: uuid.UUID) -> uuid.UUID:
    return (await conn.execute(insert(user_session).values(user_id=user_id).returning(user_session.c.id))).scalar_one()


async def add_refresh_token(conn: AsyncConnection, session_id: uuid.UUID, token_hash: str,
                            expires_at: datetime) -> None:
    await conn.execute(insert(refresh_token).values(token_hash=token_hash, session_id=session_id,
                                                    expires_at=expires_at))


async def claim_refresh_token(conn: AsyncConnection, token_hash: str) -> PresentedRefreshToken | None:
    row = (await conn.execute(
        select(refresh_token.c.session_id, refresh_token.c.expires_at, refresh_token.c.used_at,
               user_session.c.revoked_at, app_user.c.id, app_user.c.tenant_id, app_user.c.role)
        .select_from(refresh_token.join(user_session, user_session.c.id == refresh_token.c.session_id)
                     .join(app_user, app_user.c.id == user_session.c.user_id))
        .where(refresh_token.c.token_hash == token_hash)
        .with_for_update(of=refresh_token)
    )).one_or_none()
    return PresentedRefreshToken(*row) if row else None


async def mark_used(conn: AsyncConnection, token_hash: str, now: datetime) -> None:
    await conn.execute(update(refresh_token).where(refresh_token.c.token_hash == token_hash).values(used_at=now))


async def revoke_session(conn: AsyncConnection, session_id: uuid.UUID, reason: str) -> bool:
    result = await conn.execute(update(user_session)
                                .where(user_session.c.id == session_id, user_session.c.revoked_at.is_(None))
                                .values(revoked_at=func.now(), revoked_reason=reason))
    return result.rowcount == 1


async def revoke_user_sessions(conn: AsyncConnection, user_id: uuid.UUID, reason: str) -> int:
    result = await conn.execute(update(user_session)
                                .where(user_session.c.user_id == user_id, user_session.c.revoked_at.is_(None))
                                .values(revoked_at=func.now(), revoked_reason=reason))
    return result.rowcount

