"""A tenant's export (GET /v1/tenant/export) over many usage windows: the API process's
peak memory and time writing the document through this checkout's export service
(api/tenant_lifecycle/service.py) and, with --old-code, through an older checkout's, each
in a fresh process, alternately, on one PostgreSQL in the same run.

Run: .venv/bin/python bench/export.py [--windows 300000] [--old-code DIR (e.g. `git archive` of e2a2610)]
PostgreSQL runs under .run/bench-export (stop: METERLINE_RUN_DIR=.run/bench-export meterline infra down).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The code measured: this checkout, or in a child the one main() names (--old-code).
sys.path[0] = os.environ.get("BENCH_EXPORT_CODE", str(ROOT))
os.environ.setdefault("METERLINE_RUN_DIR", str(ROOT / ".run" / "bench-export"))

from meterline.settings import Settings  # noqa: E402

SLUG = "bench_export"


def seed(settings: Settings, windows: int) -> uuid.UUID:
    from sqlalchemy import text

    from infra.stack import infra_up
    from meterline.bootstrap import pg_sync_engine
    from warehouse.migrations.runner import migrate_shared, migrate_tenant

    infra_up(settings, only={"postgres"})
    engine = pg_sync_engine(settings)
    migrate_shared(engine)
    with engine.begin() as conn:
        found = conn.execute(text("SELECT id FROM tenant WHERE slug = :s"), {"s": SLUG}).scalar_one_or_none()
        if found is None:
            found = conn.execute(text("INSERT INTO tenant (slug, name, schema_name) VALUES (:s, 'Export bench', :n) "
                                      "RETURNING id"), {"s": SLUG, "n": f"tenant_{SLUG}"}).scalar_one()
            conn.execute(text(f"CREATE SCHEMA tenant_{SLUG}"))
    with engine.begin() as conn:
        migrate_tenant(conn, f"tenant_{SLUG}")
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE tenant_{SLUG}.usage_hourly"))
        # 20 meters x 50 customers (group_by): 1,000 windows per hour, as many hours as it takes
        conn.execute(text(
            f"INSERT INTO tenant_{SLUG}.usage_hourly (meter_slug, window_start, group_key, quantity, event_count) "
            "SELECT 'meter-' || (n % 20), timestamptz '2025-01-01 00:00+00' + (n / 1000) * interval '1 hour', "
            "'{\"customer\":\"customer-' || ((n / 20) % 50) || '\"}', n * 0.25, n % 97 "
            "FROM generate_series(0, :count - 1) AS n"), {"count": windows})
    engine.dispose()
    return found


async def _export(settings: Settings, tenant_id: uuid.UUID) -> tuple[int, float]:
    import orjson

    from api.tenant_lifecycle import service
    from meterline.bootstrap import pg_engine
    from warehouse.postgres.audit import Actor
    from warehouse.postgres.database import Database

    engine = pg_engine(settings)
    started = time.perf_counter()
    exported = await service.export(Database(engine), tenant_id, datetime.now(timezone.utc), Actor("system"))
    if isinstance(exported, dict):  # before bac8ef0: the document whole, written by the route
        size = len(orjson.dumps(exported))
    else:  # (file name, the document's chunks), written as they come
        size = 0
        async for chunk in exported[1]:
            size += len(chunk)
    await engine.dispose()
    return size, time.perf_counter() - started


def child(label: str, tenant_id: str) -> None:
    import api.tenant_lifecycle.service  # noqa: F401 - imports are the baseline, not the export
    import meterline.bootstrap  # noqa: F401

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size, seconds = asyncio.run(_export(Settings(), uuid.UUID(tenant_id)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{label:4} {size / 1e6:7.1f} MB document in {seconds:5.2f} s; peak RSS {peak / 1024:6.1f} MB, "
          f"{(peak - baseline) / 1024:6.1f} MB above the process after its imports")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--old-code", help="an older checkout, exported through in alternate processes")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    tenant_id = seed(Settings(), args.windows)
    print(f"{args.windows:,} hourly windows in one tenant")
    codes = [("new", str(ROOT))] + ([("old", str(Path(args.old_code).resolve()))] if args.old_code else [])
    for _ in range(args.rounds):
        for label, code in codes:
            subprocess.run([sys.executable, __file__, "--child", label, str(tenant_id)], check=True,
                           env={**os.environ, "BENCH_EXPORT_CODE": code})


if __name__ == "__main__":
    main()
