"""Named dependencies shared by every area (`Annotated` aliases, as in full-stack-fastapi-template).

- `SettingsDep`, `EngineDep`: what the lifespan put on `app.state`.
- `CurrentPrincipal`: the verified access token. `CurrentTenant`: its tenant, loaded
  from PostgreSQL; the only way a route learns which tenant it serves.
- `require_role("admin")`: a dependency refusing lower roles with 403.
- `OperatorDep`: the platform operator's bearer token (settings.api.operator_token).
- `UsageReaderDep`: where usage is read from (ClickHouse via warehouse.clickhouse),
  built once per app and overridable in tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from meterline.settings import Settings
from metering import Meter
from warehouse.postgres.tenants import TenantRecord, get_tenant

from .auth import InvalidToken, Principal, Role, decode_access_token, role_at_least
from .errors import ApiError

__all__ = ["SettingsDep", "EngineDep", "CurrentPrincipal", "CurrentTenant", "OperatorDep", "UsageReaderDep",
           "UsageReader", "UsagePointLike", "get_settings", "get_engine", "get_principal", "get_tenant_record",
           "require_role", "require_operator", "get_usage_reader"]

_bearer = HTTPBearer(auto_error=False, scheme_name="AccessToken", description="An access token from /v1/auth/login or /v1/tenants")
_operator_bearer = HTTPBearer(auto_error=False, scheme_name="OperatorToken",
                              description="The platform operator token (METERLINE_API__OPERATOR_TOKEN)")

_UNAUTHENTICATED = {"WWW-Authenticate": "Bearer"}


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> AsyncEngine:
    return request.app.state.engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]


def get_principal(settings: SettingsDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "missing bearer access token", headers=_UNAUTHENTICATED)
    try:
        return decode_access_token(settings.jwt, credentials.credentials)
    except InvalidToken as exc:
        raise ApiError(401, str(exc), code="invalid_token", headers=_UNAUTHENTICATED) from exc


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_tenant_record(principal: CurrentPrincipal, engine: EngineDep) -> TenantRecord:
    async with engine.connect() as conn:
        record = await get_tenant(conn, principal.tenant_id)
    if record is None:
        # A signed token for a tenant that no longer exists: the token is stale.
        raise ApiError(401, "the token's tenant no longer exists", code="invalid_token", headers=_UNAUTHENTICATED)
    return record


CurrentTenant = Annotated[TenantRecord, Depends(get_tenant_record)]


def require_role(minimum: Role) -> Callable[[Principal], Principal]:
    """`Depends(require_role("admin"))`: the caller's role must be `minimum` or higher."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not role_at_least(principal.role, minimum):
            raise ApiError(403, f"this action needs the {minimum} role or higher (you are {principal.role})")
        return principal

    check.__name__ = f"require_{minimum}"
    return check


def require_operator(settings: SettingsDep,
                     credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_operator_bearer)]) -> None:
    if credentials is None:
        raise ApiError(401, "missing operator bearer token", headers=_UNAUTHENTICATED)
    expected = settings.api.operator_token.get_secret_value().encode()
    if not secrets.compare_digest(credentials.credentials.encode(), expected):
        # A valid tenant JWT lands here too: tenants never manage the price catalogue.
        raise ApiError(403, "this action needs the platform operator token")


OperatorDep = Annotated[None, Depends(require_operator)]


class UsagePointLike(Protocol):
    window_start: datetime
    quantity: Decimal
    event_count: int
    group: Mapping[str, str | None]


class UsageSeriesLike(Protocol):
    points: list[UsagePointLike]
    total_quantity: Decimal
    total_events: int


class UsageReader(Protocol):
    """What the usage routes need; warehouse.clickhouse.usage_reader.UsageReader satisfies it."""

    def usage(self, meter: Meter, start: datetime, end: datetime, window: str = "hour") -> Awaitable[UsageSeriesLike]: ...


def get_usage_reader(request: Request) -> UsageReader:
    state = request.app.state
    reader = getattr(state, "usage_reader", None)
    if reader is None:
        # Lazy: the ClickHouse client (a server's, or the embedded host's) is built on
        # first use, so the API starts, and serves everything else, without it.
        from warehouse.clickhouse.usage_reader import build_usage_reader

        try:
            reader = build_usage_reader(state.settings)
        except Exception as exc:  # noqa: BLE001 - whatever the store's client raises, the answer is 503
            raise ApiError(503, "the usage store is not reachable") from exc
        state.usage_reader = reader
    return reader


UsageReaderDep = Annotated[UsageReader, Depends(get_usage_reader)]
