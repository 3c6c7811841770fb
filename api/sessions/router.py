"""Logging in: email and password for an access token."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import ClientAddressDep, DatabaseDep, JwtDep, LimitsDep
from . import service
from .schemas import AccessTokenPublic, LoginCreate

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/login", response_model=AccessTokenPublic)
async def login(body: LoginCreate, jwt: JwtDep, limits: LimitsDep, database: DatabaseDep,
                client_address: ClientAddressDep) -> AccessTokenPublic:
    """Failed logins lock the account and the client address out for a while (429, Retry-After).

    A suspended (or deleting) tenant's people still sign in: `tenant_status` and its reason say so."""
    token = await service.log_in(database, jwt, limits, body.email, body.password, client_address)
    tenant_status, reason = await service.tenant_standing(database, body.email)
    return AccessTokenPublic.of(token, tenant_status, reason)
