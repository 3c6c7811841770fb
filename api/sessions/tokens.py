"""Starting a session: an access token bound to a new refresh-token family, and its first refresh token.

Called inside the caller's transaction (login, registration, accepting an invitation),
so a session exists exactly when the change that opened it committed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from meterline.settings import JwtSettings
from warehouse.postgres.database import Connection
from warehouse.postgres.user_sessions import add_refresh_token, open_session

from ..auth import AccessToken, Principal, issue_access_token, new_opaque_token

__all__ = ["SessionTokens", "REFRESH_PREFIX", "start_session", "next_refresh_token"]

REFRESH_PREFIX = "mlr_"


@dataclass(frozen=True)
class SessionTokens:
    access: AccessToken
    refresh_token: str
    refresh_expires_at: datetime


async def next_refresh_token(conn: Connection, config: JwtSettings, session_id: uuid.UUID,
                             now: datetime) -> tuple[str, datetime]:
    plaintext, digest = new_opaque_token(REFRESH_PREFIX)
    expires_at = now + timedelta(days=config.refresh_token_days)
    await add_refresh_token(conn, session_id, digest, expires_at)
    return plaintext, expires_at


async def start_session(conn: Connection, config: JwtSettings, user_id: uuid.UUID, tenant_id: uuid.UUID,
                        role: str, now: datetime) -> SessionTokens:
    session_id = await open_session(conn, user_id)
    refresh, refresh_expires_at = await next_refresh_token(conn, config, session_id, now)
    access = issue_access_token(config, Principal(user_id, tenant_id, role, session_id), now)  # type: ignore[arg-type]
    return SessionTokens(access, refresh, refresh_expires_at)
