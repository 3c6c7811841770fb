"""Who may call the operator routes (`/v1/operator/...`, the catalogue's writes).

- `CurrentOperator`: a verified operator access token (api/operator_tokens.py) whose account
  still exists and is not disabled; the role is the account's as stored now, so a changed
  or disabled account takes effect at its next request, not when the token expires.
- `require_permission("plans.write")`: that operator's role must hold the permission
  (api/operator_roles.py, the one role table). 403 otherwise.
- `BootstrapDep`: the static METERLINE_API__OPERATOR_TOKEN. It creates operator accounts
  and does nothing else: no other route accepts it, and it is not an access token.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from warehouse.postgres.operators import get_operator

from .auth import InvalidToken
from .deps import DatabaseDep, JwtDep, WiringDep
from .domain_errors import Forbidden, Unauthenticated
from .operator_roles import Permission, allowed
from .operator_tokens import OperatorPrincipal, decode_operator_token

__all__ = ["CurrentOperator", "BootstrapDep", "require_permission", "get_operator_principal",
           "require_bootstrap_token"]

_operator_bearer = HTTPBearer(auto_error=False, scheme_name="OperatorAccessToken",
                              description="An operator access token from /v1/operator/auth/login")
_bootstrap_bearer = HTTPBearer(auto_error=False, scheme_name="OperatorBootstrapToken",
                               description="The static bootstrap token (METERLINE_API__OPERATOR_TOKEN): "
                                           "creates operator accounts only")


async def get_operator_principal(
    jwt: JwtDep, database: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_operator_bearer)],
) -> OperatorPrincipal:
    if credentials is None:
        raise Unauthenticated("missing operator access token")
    try:
        claimed = decode_operator_token(jwt, credentials.credentials)
    except InvalidToken as exc:
        # A tenant's token lands here too: tenants' people never act as operators.
        raise Unauthenticated(str(exc), code="invalid_token") from exc
    async with database.connect() as conn:
        account = await get_operator(conn, claimed.operator_id)
    if account is None or account.disabled_at is not None:
        raise Unauthenticated("the operator account no longer exists or is disabled", code="invalid_token")
    return OperatorPrincipal(account.id, account.role)  # type: ignore[arg-type]


CurrentOperator = Annotated[OperatorPrincipal, Depends(get_operator_principal)]


def require_permission(permission: Permission) -> Callable[[OperatorPrincipal], Awaitable[OperatorPrincipal]]:
    """`Depends(require_permission("plans.write"))`: the operator's role must hold `permission`."""

    async def check(operator: CurrentOperator) -> OperatorPrincipal:
        if not allowed(operator.role, permission):
            raise Forbidden(f"operators of role {operator.role} may not do this (needs {permission})")
        return operator

    check.__name__ = f"require_{permission.replace('.', '_')}"
    return check


def require_bootstrap_token(wiring: WiringDep,
                            credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                   Depends(_bootstrap_bearer)]) -> None:
    if credentials is None:
        raise Unauthenticated("missing operator bootstrap token")
    expected = wiring.operator_token.get_secret_value().encode()
    if not secrets.compare_digest(credentials.credentials.encode(), expected):
        # Operator and tenant access tokens alike: only the bootstrap token creates operators.
        raise Forbidden("this action needs the operator bootstrap token")


BootstrapDep = Annotated[None, Depends(require_bootstrap_token)]
