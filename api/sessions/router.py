"""Logging in: email and password for an access token."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..deps import DatabaseDep, SettingsDep
from ..rate_limits import RATE_LIMITED_RESPONSE
from . import service
from .schemas import AccessTokenPublic, LoginCreate

router = APIRouter(prefix="/v1/auth", tags=["auth"])


def client_address(request: Request) -> str:
    # The peer, or what a trusted proxy said it was (uvicorn's --forwarded-allow-ips).
    return request.client.host if request.client else "unknown"


@router.post("/login", response_model=AccessTokenPublic, responses=RATE_LIMITED_RESPONSE)
async def login(body: LoginCreate, request: Request, settings: SettingsDep, database: DatabaseDep) -> AccessTokenPublic:
    """Failed logins lock the account and the client address out for a while (429, Retry-After)."""
    token = await service.log_in(database, settings.jwt, settings.api, body.email, body.password,
                                 client_address(request))
    return AccessTokenPublic.of(token)
