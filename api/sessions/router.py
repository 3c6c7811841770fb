"""Logging in: email and password for an access token."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from warehouse.postgres.tenants import find_user_by_email

from ..auth import Principal, issue_access_token, utcnow, verify_password
from ..deps import EngineDep, SettingsDep
from ..errors import ApiError
from .schemas import AccessTokenPublic, LoginCreate

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/login", response_model=AccessTokenPublic)
async def login(body: LoginCreate, settings: SettingsDep, engine: EngineDep) -> AccessTokenPublic:
    async with engine.connect() as conn:
        user = await find_user_by_email(conn, body.email)
    # argon2 is deliberately slow: keep it off the event loop.
    valid = await run_in_threadpool(verify_password, body.password, user.password_hash if user else None)
    if user is None or not valid:
        # One message for both: which emails have accounts is not for strangers to learn.
        raise ApiError(401, "wrong email or password", code="invalid_credentials",
                       headers={"WWW-Authenticate": "Bearer"})
    token = issue_access_token(settings.jwt, Principal(user.id, user.tenant_id, user.role), utcnow())
    return AccessTokenPublic.of(token)
