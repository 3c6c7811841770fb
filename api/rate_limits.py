"""The per-tenant and per-user request quota of the admin API, and the 429 answer.

Every tenant-scoped route passes `get_caller` (api/deps.py), which calls
`enforce_request_quota`: ONE statement adds a hit to the tenant's and the user's
counters for the current fixed window and reads the tenant's plan
(warehouse/postgres/abuse_limits.py). The counters live in PostgreSQL, so every API
replica shares them; the quotas come from settings.api by plan (api.abuse_policy).

Why not the `limits` library: its storages are memory, Redis, Memcached, MongoDB and
etcd; the deployment has none of them but PostgreSQL, and a fixed window in PostgreSQL is
one upsert, less code than a storage adapter for limits' async interface.
"""

from __future__ import annotations

import itertools

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from meterline.settings import ApiSettings
from warehouse.postgres.abuse_limits import count_requests, prune_expired
from warehouse.postgres.database import Database

from .abuse_policy import request_quotas, verdict
from .auth import Principal
from .domain_errors import RateLimited
from .errors import error_body

__all__ = ["REQUEST_WINDOW_S", "enforce_request_quota", "install_rate_limit_handler",
           "prune_now_and_then"]

REQUEST_WINDOW_S = 60
# How often (in calls, per process) a replica also prunes ended windows: rare, cheap, and
# any replica will do.
_PRUNE_EVERY = 5_000
_calls = itertools.count()

async def prune_now_and_then(database: Database, config: ApiSettings) -> None:
    if next(_calls) % _PRUNE_EVERY == 0:
        async with database.begin() as conn:
            await prune_expired(conn, config.login_failure_window_s)


async def enforce_request_quota(database: Database, config: ApiSettings, principal: Principal) -> None:
    tenant_key, user_key = f"req:tenant:{principal.tenant_id}", f"req:user:{principal.user_id}"
    # One statement, atomic on its own: no BEGIN/COMMIT round trips around it (bench/api_rate_limit.py).
    async with database.autocommit() as conn:
        counts, plan_slug = await count_requests(conn, principal.tenant_id, [tenant_key, user_key], REQUEST_WINDOW_S)
    tenant_quota, user_quota = request_quotas(plan_slug, config.requests_per_minute_by_plan,
                                              config.requests_per_minute_default, config.requests_per_minute_per_user)
    limit_of = {tenant_key: tenant_quota, user_key: user_quota}
    decision = verdict((c.hits, limit_of[c.key], c.seconds_left) for c in counts)
    if not decision.allowed:
        raise RateLimited(f"request quota exceeded (tenant {tenant_quota}, user {user_quota} per minute)",
                          retry_after_s=decision.retry_after_s)
    await prune_now_and_then(database, config)


async def _rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
    return JSONResponse(error_body(429, exc.message, exc.code), status_code=429,
                        headers={"Retry-After": str(exc.retry_after_s)})


def install_rate_limit_handler(app: FastAPI) -> None:
    # Starlette picks the handler of the closest class in the exception's MRO: this one
    # wins over api.errors' DomainError handler for RateLimited.
    app.add_exception_handler(RateLimited, _rate_limited)
