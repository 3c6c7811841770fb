"""Operator accounts: created with the bootstrap token, logged into with email and password."""

from __future__ import annotations

from fastapi import APIRouter, status

from warehouse.postgres.operators import get_operator

from ..deps import ClientAddressDep, DatabaseDep, JwtDep, LimitsDep
from ..domain_errors import Unauthenticated
from ..errors import error_responses
from ..operator_deps import BootstrapDep, CurrentOperator
from . import service
from .schemas import OperatorCreate, OperatorLogin, OperatorPublic, OperatorTokenPublic

router = APIRouter(prefix="/v1/operator", tags=["operators"])


@router.post("/accounts", response_model=OperatorPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400, (401, "No bootstrap token"), (403, "Not the bootstrap token"),
                                       (409, "An operator with this email exists")))
async def create_account(body: OperatorCreate, _bootstrap: BootstrapDep, database: DatabaseDep,
                         limits: LimitsDep) -> OperatorPublic:
    """The one thing the static bootstrap token (METERLINE_API__OPERATOR_TOKEN) may do: create an
    operator account (role finance or sre). The password follows the owners' strength rule."""
    return OperatorPublic.of(await service.create_operator(database, limits, body))


@router.post("/auth/login", response_model=OperatorTokenPublic,
             responses=error_responses(400, (401, "Wrong email or password")))
async def log_in(body: OperatorLogin, jwt: JwtDep, limits: LimitsDep, database: DatabaseDep,
                 client_address: ClientAddressDep) -> OperatorTokenPublic:
    """An operator access token: accepted by operator routes only, as a tenant's token is by tenant
    routes only. Failed logins lock out like tenant logins (429, Retry-After)."""
    token, account = await service.log_in_operator(database, jwt, limits, body.email, body.password, client_address)
    return OperatorTokenPublic.of(token, account.role)  # type: ignore[arg-type]


@router.get("/me", response_model=OperatorPublic,
            responses=error_responses((401, "No operator access token, or not one")))
async def me(operator: CurrentOperator, database: DatabaseDep) -> OperatorPublic:
    """The calling operator, with what their role may do."""
    async with database.connect() as conn:
        account = await get_operator(conn, operator.operator_id)
    if account is None:
        raise Unauthenticated("the operator account no longer exists", code="invalid_token")
    return OperatorPublic.of(account)
