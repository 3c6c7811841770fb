"""What the admin API's request quota costs per request (api/rate_limits.py), on the real
PostgreSQL of `meterline infra up` (or METERLINE_POSTGRES__URL).

    .venv/bin/python -P bench/api_rate_limit.py [calls]   (-P: bench/stream.py would shadow the stream package)

Times `enforce_request_quota` (one upsert-with-plan statement, autocommitted) for one
tenant and user, next to a bare `SELECT 1` (in a transaction, as most services read, and
autocommitted: one round trip) on the same pool.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid

from sqlalchemy import text

from api.auth import Principal
from api.rate_limits import enforce_request_quota
from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from warehouse.postgres.database import Database


def summary(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p = lambda q: samples[int(q * (len(samples) - 1))] * 1e6  # noqa: E731
    return f"{name:<28} median {p(0.5):7.0f} µs   p95 {p(0.95):7.0f} µs   p99 {p(0.99):7.0f} µs"


async def main(calls: int) -> None:
    settings = Settings()
    config = settings.api.model_copy(update={"requests_per_minute_default": 10**9, "requests_per_minute_per_user": 10**9})
    engine = pg_engine(settings)
    database = Database(engine)
    principal = Principal(uuid.uuid4(), uuid.uuid4(), "owner")
    baseline, one_trip, limiter = [], [], []
    for _ in range(50):  # warm the pool and the plan cache
        await enforce_request_quota(database, config, principal)
    for _ in range(calls):
        start = time.perf_counter()
        async with database.begin() as conn:
            await conn.execute(text("SELECT 1"))
        baseline.append(time.perf_counter() - start)
        start = time.perf_counter()
        async with database.autocommit() as conn:
            await conn.execute(text("SELECT 1"))
        one_trip.append(time.perf_counter() - start)
        start = time.perf_counter()
        await enforce_request_quota(database, config, principal)
        limiter.append(time.perf_counter() - start)
    await engine.dispose()
    print(summary("SELECT 1 transaction", baseline))
    print(summary("SELECT 1 autocommit", one_trip))
    print(summary("enforce_request_quota", limiter))
    print(f"beyond one round trip (medians): {(statistics.median(limiter) - statistics.median(one_trip)) * 1e6:.0f} µs")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
