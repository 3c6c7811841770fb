"""Named dependencies shared by every area (`Annotated` aliases, as in full-stack-fastapi-template).

- `JwtDep`: the access tokens' settings section (of the wiring the app was built with, api/wiring.py).
- `DatabaseDep`: the PostgreSQL port (`warehouse.postgres.database.Database`) over the
  engine the lifespan put on `app.state`; services ask it for connections and transactions.
- `CurrentPrincipal`: the caller, authorized for this route. `get_caller` is the ONE
  dependency that enforces the role table (api/permissions.py): it verifies the access
  token, reads the user's current role, tenant and session from PostgreSQL (one indexed
  join, every request, no cache: bench/api_caller_state.py measures it), applies the
  request quotas (api/rate_limits.py) and checks the route's permission against the
  STORED role, so a removed user or a revoked session is a 401 and a downgraded user a
  403 at their very next request. `CurrentTenant`: the caller's tenant, from the same
  read; the only way a route learns which tenant it serves.
- `ClientAddressDep`: the client's address, which login and registration limits count by.
- `LimitsDep`: the API's settings section, whose limits login, registration and request quotas apply.
- Operators (their accounts, roles and the bootstrap token) have theirs in api/operator_deps.py.

An area's own dependencies are in its deps.py (the usage reader in api/usage/deps.py,
the clock in api/subscriptions/deps.py, the payment provider in api/tenants/deps.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from meterline.settings import ApiSettings, JwtSettings
from warehouse.postgres.database import Database
from warehouse.postgres.tenants import TenantRecord
from warehouse.postgres.users import caller_state

from .auth import InvalidToken, Principal, decode_access_token
from .caller import Caller, caller_actor
from .domain_errors import Forbidden, Unauthenticated
from .permissions import MINIMUM_ROLE, Permission, can, route_access
from .rate_limits import enforce_request_quota
from .wiring import ApiWiring

__all__ = ["JwtDep", "WiringDep", "LimitsDep", "DatabaseDep", "ClientAddressDep", "CurrentPrincipal", "CurrentTenant",
           "CurrentCaller", "get_wiring", "get_jwt", "get_limits", "get_database", "get_token_principal",
           "get_principal", "get_tenant_record", "get_caller", "Caller", "caller_actor"]

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


def _route_permission(request: Request) -> Permission:
    route = request.scope.get("route")
    access = route_access(request.method, getattr(route, "path", ""))
    if not isinstance(access, Permission):
        # Not in the role table, or an operator's route: no tenant token opens it.
        raise Forbidden("this route is not open to a tenant's users")
    return access


async def get_caller(request: Request, token: TokenPrincipal, limits: LimitsDep, database: DatabaseDep) -> Caller:
    """Who calls, as PostgreSQL knows them now, allowed this route by the role table (403 otherwise)."""
    async with database.connect() as conn:
        state = await caller_state(conn, token.user_id, token.tenant_id, token.session_id)
    if state is None:
        # The user was removed, the session revoked (logout, password change, refresh-token
        # reuse) or the tenant is gone: the token is stale.
        raise Unauthenticated("the token's user, session or tenant no longer exists", code="invalid_token")
    principal = Principal(token.user_id, token.tenant_id, state.role, token.session_id)
    await enforce_request_quota(database, limits, principal)
    permission = _route_permission(request)
    if not can(principal.role, permission):
        raise Forbidden(f"this action needs the {MINIMUM_ROLE[permission]} role or higher (you are {principal.role})")
    return Caller(principal, state.email, state.tenant)


CurrentCaller = Annotated[Caller, Depends(get_caller)]



def get_principal(caller: CurrentCaller) -> Principal:
    return caller.principal


def get_tenant_record(caller: CurrentCaller) -> TenantRecord:
    return caller.tenant


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentTenant = Annotated[TenantRecord, Depends(get_tenant_record)]
