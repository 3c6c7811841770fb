"""Logging in: an email and password for an access token."""

from __future__ import annotations

import asyncio

from meterline.settings import JwtSettings
from warehouse.postgres.database import Database
from warehouse.postgres.tenants import find_user_by_email

from ..auth import AccessToken, Principal, issue_access_token, utcnow, verify_password
from ..domain_errors import Unauthenticated

__all__ = ["log_in"]


async def log_in(database: Database, jwt_settings: JwtSettings, email: str, password: str) -> AccessToken:
    async with database.connect() as conn:
        user = await find_user_by_email(conn, email)
    # argon2 is deliberately slow: keep it off the event loop.
    valid = await asyncio.to_thread(verify_password, password, user.password_hash if user else None)
    if user is None or not valid:
        # One message for both: which emails have accounts is not for strangers to learn.
        raise Unauthenticated("wrong email or password", code="invalid_credentials")
    return issue_access_token(jwt_settings, Principal(user.id, user.tenant_id, user.role), utcnow())
