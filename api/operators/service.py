"""Operators: creating accounts (bootstrap), logging in, and acting on tenants across the platform.

Operator logins are limited like tenant logins (api/sessions/service.py), on their own
keys ("operator-login:..."), so guessing at operator passwords locks out as quickly.
"""

from __future__ import annotations

import asyncio
import uuid

from billing_jobs.lifecycle import LifecycleRefused, TenantState, resume, suspend
from meterline.settings import ApiSettings, JwtSettings
from warehouse.postgres.abuse_limits import clear_login_failures, lock_out, lockout_left_s, record_login_failures
from warehouse.postgres.database import ConstraintViolation, Database
from warehouse.postgres.operators import OperatorRecord, find_operator_by_email, insert_operator
from warehouse.postgres.tenant_lifecycle import TenantLifecycle, load_lifecycle, save_lifecycle

from ..abuse_policy import lockout_seconds, password_problem
from ..auth import AccessToken, hash_password, utcnow, verify_password
from ..domain_errors import Conflict, FieldProblem, InvalidInput, NotFound, RateLimited, Unauthenticated
from ..operator_tokens import OperatorPrincipal, issue_operator_token
from .schemas import OperatorCreate

__all__ = ["create_operator", "log_in_operator", "change_suspension"]


async def create_operator(database: Database, limits: ApiSettings, body: OperatorCreate) -> OperatorRecord:
    problem = password_problem(body.password, [body.email], limits.password_min_length, limits.password_min_score)
    if problem:
        raise InvalidInput(f"password {problem}", code="weak_password", problems=[FieldProblem("password", problem)])
    password_hash = await asyncio.to_thread(hash_password, body.password)
    try:
        async with database.begin() as conn:
            return await insert_operator(conn, email=body.email, password_hash=password_hash, role=body.role)
    except ConstraintViolation as exc:
        raise Conflict("an operator with this email already exists", code="email_taken",
                       problems=[FieldProblem("email", "already registered")]) from exc


async def log_in_operator(database: Database, jwt: JwtSettings, limits: ApiSettings, email: str, password: str,
                          client_address: str) -> tuple[AccessToken, OperatorRecord]:
    keys = [f"operator-login:account:{email.lower()}", f"operator-login:address:{client_address}"]
    async with database.connect() as conn:
        locked_for = await lockout_left_s(conn, keys)
        if locked_for > 0:
            raise RateLimited("too many failed logins; try again later", retry_after_s=max(1, round(locked_for)),
                              code="login_locked")
        account = await find_operator_by_email(conn, email)
    valid = await asyncio.to_thread(verify_password, password, account.password_hash if account else None)
    if account is None or not valid or account.disabled_at is not None:
        await _record_failure(database, limits, keys)
        raise Unauthenticated("wrong email or password", code="invalid_credentials")
    async with database.begin() as conn:
        await clear_login_failures(conn, keys[0])
    principal = OperatorPrincipal(account.id, account.role)  # type: ignore[arg-type]
    return issue_operator_token(jwt, principal, utcnow()), account


async def _record_failure(database: Database, limits: ApiSettings, keys: list[str]) -> None:
    thresholds = dict(zip(keys, (limits.login_failures_per_account, limits.login_failures_per_address)))
    async with database.begin() as conn:
        failures = await record_login_failures(conn, keys, limits.login_failure_window_s)
        for key, count in failures.items():
            seconds = lockout_seconds(count, thresholds[key], limits.login_lockout_initial_s, limits.login_lockout_max_s)
            if seconds:
                await lock_out(conn, key, seconds)


async def change_suspension(database: Database, tenant_id: uuid.UUID, reason: str | None) -> TenantLifecycle:
    """Suspend with `reason`, or resume when it is None; the tenant as it stands afterwards."""
    now = utcnow()
    async with database.begin() as conn:
        found = await load_lifecycle(conn, tenant_id, for_update=True)
        if found is None:
            raise NotFound("no such tenant", code="tenant_not_found")
        try:
            state: TenantState = (suspend(found.state, "operator", reason) if reason is not None
                                  else resume(found.state, "operator"))
        except LifecycleRefused as exc:
            raise Conflict(str(exc), code=exc.code) from exc
        await save_lifecycle(conn, tenant_id, state, now)
        return await load_lifecycle(conn, tenant_id)  # type: ignore[return-value]
