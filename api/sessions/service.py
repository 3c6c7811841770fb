"""Logging in: an email and password for an access token, within the login limits.

Failures are counted per account (the email, known or not, so lockouts reveal nothing
about which emails exist) and per client address, in PostgreSQL so every replica sees
them. Past a threshold a key is locked out (429 with Retry-After) for a time that
doubles with each further failure (api.abuse_policy.lockout_seconds). A success clears
the account's failures, not the address's: one valid account must not reset the
counter of an address that guesses at others.
"""

from __future__ import annotations

import asyncio

from meterline.settings import ApiSettings, JwtSettings
from warehouse.postgres.abuse_limits import clear_login_failures, lock_out, lockout_left_s, record_login_failures
from warehouse.postgres.database import Database
from warehouse.postgres.tenant_lifecycle import load_lifecycle
from warehouse.postgres.tenants import find_user_by_email

from ..abuse_policy import lockout_seconds
from ..auth import AccessToken, Principal, issue_access_token, utcnow, verify_password
from ..domain_errors import RateLimited, Unauthenticated

__all__ = ["log_in", "tenant_standing"]


def _keys(email: str, client_address: str) -> tuple[str, str]:
    return f"login:account:{email.lower()}", f"login:address:{client_address}"


async def log_in(database: Database, jwt_settings: JwtSettings, limits: ApiSettings, email: str, password: str,
                 client_address: str) -> AccessToken:
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
    return issue_access_token(jwt_settings, Principal(user.id, user.tenant_id, user.role), utcnow())


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
