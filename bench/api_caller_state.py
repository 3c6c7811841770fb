"""What checking the caller's current state costs per request (api/deps.py `get_caller` ->
warehouse/postgres/users.py `caller_state`), on the real PostgreSQL of `meterline infra up`
(or METERLINE_POSTGRES__URL).

    .venv/bin/python -P bench/api_caller_state.py [calls]   (-P: bench/stream.py would shadow the stream package)

Registers a throw-away tenant, user and session, then times the one join every
authenticated request makes (user, tenant, session), next to the tenant look-up it
replaced (`get_tenant`, which every request made before) and a bare `SELECT 1` on the
same pool, each on a pooled connection as `get_caller` takes it. The difference is what
a cache could save at most: it decides whether the user's state is cached. Also prints
the statement's execution time inside PostgreSQL (EXPLAIN ANALYZE), which a busy
machine's scheduling does not blur as much as the wall clock.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from warehouse.postgres.database import Database
from warehouse.postgres.tenants import get_tenant, insert_tenant
from warehouse.postgres.user_sessions import open_session
from warehouse.postgres.users import _CALLER_STATE, caller_state


def summary(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p = lambda q: samples[int(q * (len(samples) - 1))] * 1e6  # noqa: E731
    return f"{name:<24} median {p(0.5):7.0f} µs   p95 {p(0.95):7.0f} µs   p99 {p(0.99):7.0f} µs"


async def _server_times(database: Database, values: dict[str, uuid.UUID], runs: int = 200) -> list[float]:
    """Milliseconds PostgreSQL spends executing the statement (EXPLAIN ANALYZE), per run."""
    sql = str(_CALLER_STATE.compile(dialect=postgresql.dialect()))
    for name, value in values.items():
        sql = sql.replace(f"%({name})s", f"'{value}'")  # uuids: safe to inline
    times = []
    async with database.connect() as conn:
        for _ in range(runs):
            plan = (await conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql))).scalar_one()
            times.append(plan[0]["Execution Time"])
    return times


async def main(calls: int) -> None:
    settings = Settings()
    engine = pg_engine(settings)
    database = Database(engine)
    slug = "bench" + uuid.uuid4().hex[:8]
    async with database.begin() as conn:
        tenant, user = await insert_tenant(conn, slug=slug, name=slug, owner_email=f"{slug}@bench.test",
                                           owner_password_hash="x")
        session_id = await open_session(conn, user.id)
    baseline, tenant_only, state = [], [], []
    for _ in range(50):  # warm the pool and the plan cache
        async with database.connect() as conn:
            await caller_state(conn, user.id, tenant.id, session_id)
    for _ in range(calls):
        start = time.perf_counter()
        async with database.connect() as conn:
            await conn.execute(text("SELECT 1"))
        baseline.append(time.perf_counter() - start)
        start = time.perf_counter()
        async with database.connect() as conn:
            await get_tenant(conn, tenant.id)
        tenant_only.append(time.perf_counter() - start)
        start = time.perf_counter()
        async with database.connect() as conn:
            found = await caller_state(conn, user.id, tenant.id, session_id)
        state.append(time.perf_counter() - start)
        assert found is not None and found.role == "owner"
    server = await _server_times(database, {"user_id": user.id, "tenant_id": tenant.id, "session_id": session_id})
    async with database.begin() as conn:
        await conn.execute(text("DELETE FROM tenant WHERE id = :t"), {"t": tenant.id})
        await conn.execute(text(f'DROP SCHEMA "{tenant.schema_name}" CASCADE'))
    await engine.dispose()
    print(summary("SELECT 1", baseline))
    print(summary("get_tenant (before)", tenant_only))
    print(summary("caller_state (now)", state))
    print(f"inside PostgreSQL: median {statistics.median(server) * 1e3:.0f} µs, max {max(server) * 1e3:.0f} µs")
    print(f"beyond SELECT 1 (medians): {(statistics.median(state) - statistics.median(baseline)) * 1e6:.0f} µs; "
          f"beyond get_tenant: {(statistics.median(state) - statistics.median(tenant_only)) * 1e6:.0f} µs")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
