"""Logging in: an email and password for an access token, within the login limits.

Failures are counted per account (the email, known or not, so lockouts reveal nothing
about which emails exist) and per client address, in PostgreSQL so every replica sees
them. Past a threshold a key is locked out (429 with Retry-After) for a time that
doubles with each further failure (api.abuse_policy.lockout_seconds). A success clears
the account's failures, not the address's: one valid account must not reset the
counter of an address that guesses at others.

A login starts a session (api/sessions/tokens.py): `refresh` rotates its refresh token,
`log_out` ends it, `change_password` ends every session of the user, the current one too.
"""

from __future__ import annotations

import asyncio
import uuid

from meterline.settings import ApiSettings, JwtSettings
from warehouse.postgres.abuse_limits import clear_login_failures, lock_out, lockout_left_s, record_login_failures
from warehouse.postgres.database import Database
from warehouse.postgres.audit import record_audit
from warehouse.postgres.tenant_lifecycle import load_lifecycle
from warehouse.postgres.tenants import find_user_by_email
from warehouse.postgres.user_sessions import claim_refresh_token, mark_used, revoke_session, revoke_user_sessions
from warehouse.postgres.users import get_user, set_password_hash

from ..abuse_policy import lockout_seconds, password_problem
from ..auth import Principal, hash_opaque_token, hash_password, issue_access_token, utcnow, verify_password
from ..caller import Caller, caller_actor
from ..domain_errors import FieldProblem, InvalidInput, RateLimited, Unauthenticated
from .rules import RefreshVerdict, refresh_verdict
from .tokens import SessionTokens, next_refresh_token, start_session

__all__ = ["log_in", "tenant_standing", "open_session", "refresh", "log_out", "change_password"]


def _keys(email: str, client_address: str) -> tuple[str, str]:
    return f"login:account:{email.lower()}", f"login:address:{client_address}"


async def log_in(database: Database, jwt_settings: JwtSettings, limits: ApiSettings, email: str, password: str,
                 client_address: str) -> SessionTokens:
    account_key, address_key = _keys(email, client_address)
    async with database.connect() as conn:
        locked_for = await lockout_left_s(conn, [account_key, address_key])
        if locked_for > 0:
            # Refused before the password is even checked: guessing on is pointless.
            raise RateLimited("too many failed logins; try again later", retry_after_s=max(1, round(locked_for)),
                              code="login_locked")
        user = await find_user_by_email(conn, email)
    # argon2 is deliberately slow: keep it off the event loop.
    valid = await asyncio.to_thread(verify_password, password, user.password_hash if user else None)
    if user is None or not valid:
        await _record_failure(database, limits, account_key, address_key)
        # One message for both: which emails have accounts is not for strangers to learn.
        raise Unauthenticated("wrong email or password", code="invalid_credentials")
    async with database.begin() as conn:
        await clear_login_failures(conn, account_key)
        return await start_session(conn, jwt_settings, user.id, user.tenant_id, user.role, utcnow())


async def _record_failure(database: Database, limits: ApiSettings, account_key: str, address_key: str) -> None:
    thresholds = {account_key: limits.login_failures_per_account, address_key: limits.login_failures_per_address}
    async with database.begin() as conn:
        failures = await record_login_failures(conn, [account_key, address_key], limits.login_failure_window_s)
        for key, count in failures.items():
            seconds = lockout_seconds(count, thresholds[key], limits.login_lockout_initial_s, limits.login_lockout_max_s)
            if seconds:
                await lock_out(conn, key, seconds)


async def tenant_standing(database: Database, email: str) -> tuple[str, str | None]:
    """The status of the signed-in user's tenant and why (suspended, deleting), for the login answer."""
    async with database.connect() as conn:
        user = await find_user_by_email(conn, email)
        found = await load_lifecycle(conn, user.tenant_id) if user else None
    if found is None:
        return "active", None
    return found.state.status, found.state.status_reason


async def open_session(database: Database, jwt_settings: JwtSettings, user_id: uuid.UUID, tenant_id: uuid.UUID,
                       role: str) -> SessionTokens:
    async with database.begin() as conn:
        return await start_session(conn, jwt_settings, user_id, tenant_id, role, utcnow())


async def refresh(database: Database, jwt_settings: JwtSettings, refresh_token: str) -> SessionTokens:
    """The next access and refresh tokens of the session; the presented one is used up."""
    now = utcnow()
    async with database.begin() as conn:
        presented = await claim_refresh_token(conn, hash_opaque_token(refresh_token))
        if presented is None:
            raise Unauthenticated("unknown refresh token", code=f"refresh_token_{RefreshVerdict.UNKNOWN.value}")
        verdict = refresh_verdict(True, presented.used_at, presented.expires_at, presented.session_revoked_at, now)
        if verdict is RefreshVerdict.REUSED:
            await revoke_session(conn, presented.session_id, "refresh token reused")
        elif verdict is RefreshVerdict.ROTATE:
            await mark_used(conn, hash_opaque_token(refresh_token), now)
            token, expires_at = await next_refresh_token(conn, jwt_settings, presented.session_id, now)
            # The stored role: a downgrade since the last token is in the next one.
            principal = Principal(presented.user_id, presented.tenant_id, presented.role,  # type: ignore[arg-type]
                                  presented.session_id)
            return SessionTokens(issue_access_token(jwt_settings, principal, now), token, expires_at)
    # Committed above, so a reuse revokes the session even though this request fails.
    messages = {RefreshVerdict.REUSED: "refresh token already used; the session is ended, log in again",
                RefreshVerdict.EXPIRED: "refresh token expired; log in again",
                RefreshVerdict.REVOKED: "the session has ended; log in again"}
    raise Unauthenticated(messages[verdict], code=f"refresh_token_{verdict.value}")


async def log_out(database: Database, principal: Principal) -> None:
    """Ends the session of the access token: its refresh tokens and access tokens stop working."""
    async with database.begin() as conn:
        await revoke_session(conn, principal.session_id, "logout")


async def change_password(database: Database, limits: ApiSettings, caller: Caller, current: str, new: str,
                          client_address: str) -> None:
    """A wrong current password counts as a failed login of the account (a stolen access
    token must not become a way to guess the password), and a locked-out account cannot
    change it either."""
    principal = caller.principal
    problem = password_problem(new, [caller.email, caller.tenant.slug, caller.tenant.name],
                               limits.password_min_length, limits.password_min_score)
    if problem:
        raise InvalidInput(f"new_password {problem}", code="weak_password",
                           problems=[FieldProblem("new_password", problem)])
    account_key, address_key = _keys(caller.email, client_address)
    async with database.connect() as conn:
        locked_for = await lockout_left_s(conn, [account_key, address_key])
        user = await get_user(conn, principal.tenant_id, principal.user_id)
    if locked_for > 0:
        raise RateLimited("too many wrong passwords; try again later", retry_after_s=max(1, round(locked_for)),
                          code="login_locked")
    if user is None or not await asyncio.to_thread(verify_password, current, user.password_hash):
        await _record_failure(database, limits, account_key, address_key)
        raise InvalidInput("current_password is wrong", code="wrong_password",
                           problems=[FieldProblem("current_password", "wrong password")])
    new_hash = await asyncio.to_thread(hash_password, new)
    async with database.begin() as conn:
        await set_password_hash(conn, principal.user_id, new_hash)
        ended = await revoke_user_sessions(conn, principal.user_id, "password changed")
        await record_audit(conn, principal.tenant_id, caller_actor(caller), "user.password_changed", "user",
                           principal.user_id, {"sessions_ended": ended})
