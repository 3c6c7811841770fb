"""Sessions: logging in, refreshing, logging out, changing one's password.

A login answers an access token (30 minutes) and a refresh token (7 days, single use);
both lifetimes are settings.jwt's.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from ..deps import ClientAddressDep, CurrentCaller, CurrentPrincipal, DatabaseDep, JwtDep, LimitsDep
from ..errors import error_responses
from . import service
from .schemas import AccessTokenPublic, LoginCreate, PasswordUpdate, RefreshCreate
from .tokens import SessionTokens

router = APIRouter(prefix="/v1/auth", tags=["auth"])


def _public(tokens: SessionTokens) -> AccessTokenPublic:
    return AccessTokenPublic.of(tokens.access, tokens.refresh_token, tokens.refresh_expires_at)


@router.post("/login", response_model=AccessTokenPublic)
async def login(body: LoginCreate, jwt: JwtDep, limits: LimitsDep, database: DatabaseDep,
                client_address: ClientAddressDep) -> AccessTokenPublic:
    """Failed logins lock the account and the client address out for a while (429, Retry-After).

    A suspended (or deleting) tenant's people still sign in: `tenant_status` and its reason say so."""
    tokens = await service.log_in(database, jwt, limits, body.email, body.password, client_address)
    tenant_status, reason = await service.tenant_standing(database, body.email)
    return AccessTokenPublic.of(tokens.access, tokens.refresh_token, tokens.refresh_expires_at, tenant_status, reason)


@router.post("/refresh", response_model=AccessTokenPublic,
             responses=error_responses((401, "Unknown, expired or already used refresh token, or ended session")))
async def refresh(body: RefreshCreate, jwt: JwtDep, database: DatabaseDep) -> AccessTokenPublic:
    """Trade a refresh token for a new access token and a new refresh token. A refresh token
    works once: presenting a used one again ends the whole session (every token of that login)."""
    return _public(await service.refresh(database, jwt, body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             responses=error_responses(403))
async def logout(principal: CurrentPrincipal, database: DatabaseDep) -> Response:
    """Ends the session of this access token: it and the session's refresh tokens stop working."""
    await service.log_out(database, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             responses=error_responses(403))
async def change_password(body: PasswordUpdate, caller: CurrentCaller, limits: LimitsDep, database: DatabaseDep,
                          client_address: ClientAddressDep) -> Response:
    """Every session of the user ends, this one too: log in again with the new password.
    Wrong current passwords count toward the login lockout (429, Retry-After)."""
    await service.change_password(database, limits, caller, body.current_password, body.new_password,
                                  client_address)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
