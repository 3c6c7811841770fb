"""Named dependencies shared by every area (`Annotated` aliases, as in full-stack-fastapi-template).

- `JwtDep`: the access tokens' settings section (of the wiring the app was built with, api/wiring.py).
- `DatabaseDep`: the PostgreSQL port (`warehouse.postgres.database.Database`) over the
  engine the lifespan put on `app.state`; services ask it for connections and transactions.
- `CurrentPrincipal`: the verified access token, whose tenant still exists, within its
  request quotas (api/rate_limits.py). `CurrentTenant`: that tenant, loaded from PostgreSQL
  (once per request, shared by both); the only way a route learns which tenant it serves.
  A signed token for a tenant that is gone is a 401 on every route.
- `require_role("admin")`: a dependency refusing lower roles with 403.
- `ClientAddressDep`: the client's address, which login and registration limits count by.
- `LimitsDep`: the API's settings section, whose limits login, registration and request quotas apply.
- Operators (their accounts, roles and the bootstrap token) have theirs in api/operator_deps.py.

An area's own dependencies are in its deps.py (the usage reader in api/usage/deps.py,
the clock in api/subscriptions/deps.py, the payment provider in api/tenants/deps.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from meterline.settings import ApiSettings, JwtSettings
from warehouse.postgres.database import Database
from warehouse.postgres.tenants import TenantRecord, get_tenant

from .auth import InvalidToken, Principal, Role, decode_access_token, role_at_least
from .domain_errors import Forbidden, Unauthenticated
from .rate_limits import enforce_request_quota
from .wiring import ApiWiring

__all__ = ["JwtDep", "WiringDep", "LimitsDep", "DatabaseDep", "ClientAddressDep", "CurrentPrincipal", "CurrentTenant",
           "get_wiring", "get_jwt", "get_limits", "get_database", "get_token_principal", "get_principal",
           "get_tenant_record", "require_role"]

_bearer = HTTPBearer(auto_error=False, scheme_name="AccessToken", description="An access token from /v1/auth/login or /v1/tenants")


def get_wiring(request: Request) -> ApiWiring:
    return request.app.state.wiring


def get_jwt(request: Request) -> JwtSettings:
    return request.app.state.wiring.jwt


def get_limits(request: Request) -> ApiSettings:
    return request.app.state.wiring.limits


def get_database(request: Request) -> Database:
    # A wrapper per request, over the one engine the lifespan (or a test) put on app.state.
    return Database(request.app.state.engine)


def get_client_address(request: Request) -> str:
    # The peer, or what a trusted proxy said it was (uvicorn's --forwarded-allow-ips).
    return request.client.host if request.client else "unknown"


WiringDep = Annotated[ApiWiring, Depends(get_wiring)]
JwtDep = Annotated[JwtSettings, Depends(get_jwt)]
LimitsDep = Annotated[ApiSettings, Depends(get_limits)]
DatabaseDep = Annotated[Database, Depends(get_database)]
ClientAddressDep = Annotated[str, Depends(get_client_address)]


def get_token_principal(jwt: JwtDep,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The access token's claims, verified; whether its tenant still exists is not checked here."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer access token")
    try:
        return decode_access_token(jwt, credentials.credentials)
    except InvalidToken as exc:
        raise Unauthenticated(str(exc), code="invalid_token") from exc


TokenPrincipal = Annotated[Principal, Depends(get_token_principal)]


async def get_tenant_record(principal: TokenPrincipal, database: DatabaseDep) -> TenantRecord:
    async with database.connect() as conn:
        record = await get_tenant(conn, principal.tenant_id)
    if record is None:
        # A signed token for a tenant that no longer exists: the token is stale.
        raise Unauthenticated("the token's tenant no longer exists", code="invalid_token")
    return record


CurrentTenant = Annotated[TenantRecord, Depends(get_tenant_record)]


async def get_principal(principal: TokenPrincipal, _tenant: CurrentTenant, limits: LimitsDep,
                        database: DatabaseDep) -> Principal:
    """The verified caller of an existing tenant, once its tenant's and its own request quotas allow this request."""
    await enforce_request_quota(database, limits, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(minimum: Role) -> Callable[[Principal], Principal]:
    """`Depends(require_role("admin"))`: the caller's role must be `minimum` or higher."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not role_at_least(principal.role, minimum):
            raise Forbidden(f"this action needs the {minimum} role or higher (you are {principal.role})")
        return principal

    check.__name__ = f"require_{minimum}"
    return check
