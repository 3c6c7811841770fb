"""Benchmark of the invoice flow (issue 5 "Speed"); not a test.

    .venv/bin/python bench/billing.py [--tenants 1000]      (or: make bench-billing)

Starts PostgreSQL, localstripe and Prefect under .run/bench-billing on ports of its
own (35xxx; override with the usual METERLINE_* variables), seeds --tenants tenants
(once; kept between runs) each subscribed to one plan with 10 metered prices of
every model (unit, package, graduated, volume; included usage, minimums), writes a
month of hourly usage for a month not yet invoiced, then times the `generate-invoices`
Prefect flow for that month: compose, store, push to Stripe, pay, for every tenant.

Time is split by wrapping the Stripe adapter's single call point and the rating
(invoice composition); the rest of each task is database and orchestration work.
Shares are of the summed task time (tasks overlap on threads). The last line is one
JSON object: tenants, seconds, stripe_share, rating_share, db_other_share, and
stripe_calls_per_invoice: the figure contention on a shared machine does not skew.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUN_DIR = ROOT / ".run" / "bench-billing"
BENCH_ENV = {
    "METERLINE_ENVIRONMENT": "test",
    "METERLINE_RUN_DIR": str(RUN_DIR),
    "METERLINE_KAFKA__PORT": "35092",
    "METERLINE_KAFKA__CONTROLLER_PORT": "35093",
    "METERLINE_STRIPE__PORT": "35420",
    "METERLINE_PREFECT__PORT": "35200",
    "METERLINE_INGEST__PORT": "35080",
    "METERLINE_API__PORT": "35000",
    "METERLINE_STREAM__WEB_PORT": "35066",
}
for _name, _value in BENCH_ENV.items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("PREFECT_API_URL", f"http://127.0.0.1:{os.environ['METERLINE_PREFECT__PORT']}/api")
os.environ.setdefault("PREFECT_HOME", str(Path(os.environ["METERLINE_RUN_DIR"]) / "prefect-client"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

PLAN = {
    "slug": "bench-mixed-10", "name": "Bench mixed", "currency": "USD", "flat_fee": "49.00",
    "charges": [
        {"model": "unit", "meter_slug": "m0", "unit_price": "0.002"},
        {"model": "unit", "meter_slug": "m1", "unit_price": "0.15", "included_usage": "100", "minimum": "5"},
        {"model": "package", "meter_slug": "m2", "package_size": 1000, "package_price": "1.50"},
        {"model": "package", "meter_slug": "m3", "package_size": 50, "package_price": "0.75", "included_usage": "50"},
        {"model": "graduated", "meter_slug": "m4", "tiers": [
            {"up_to": "1000", "unit_price": "0.01"}, {"up_to": "10000", "unit_price": "0.008"},
            {"up_to": None, "unit_price": "0.005"}]},
        {"model": "graduated", "meter_slug": "m5", "included_usage": "500", "tiers": [
            {"up_to": "2000", "unit_price": "0.02", "flat_fee": "1"}, {"up_to": None, "unit_price": "0.01"}]},
        {"model": "volume", "meter_slug": "m6", "tiers": [
            {"up_to": "1000", "unit_price": "0.05"}, {"up_to": None, "unit_price": "0.03"}]},
        {"model": "volume", "meter_slug": "m7", "minimum": "20", "tiers": [
            {"up_to": "5000", "unit_price": "0.004"}, {"up_to": None, "unit_price": "0.003", "flat_fee": "2"}]},
        {"model": "unit", "meter_slug": "m8", "unit_price": "0.000125"},
        {"model": "graduated", "meter_slug": "m9", "tiers": [
            {"up_to": "100", "unit_price": "0"}, {"up_to": None, "unit_price": "0.0333"}]},
    ],
}


class _Clock:
    """Seconds summed across threads, in total and per label."""

    def __init__(self, label=None) -> None:
        self.total = 0.0
        self.calls = 0
        self.by_label: dict[str, list] = {}
        self._label = label
        self._lock = threading.Lock()

    def wrap(self, fn):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                with self._lock:
                    self.total += spent
                    self.calls += 1
                    if self._label is not None:
                        entry = self.by_label.setdefault(self._label(*args), [0, 0.0])
                        entry[0] += 1
                        entry[1] += spent
        return timed


def _service_pids(settings) -> dict[str, int]:
    """Process ids of the services started under the run directory, by name."""
    files = {
        "localstripe": settings.run_dir / "localstripe" / "localstripe.pid",
        "prefect_server": settings.run_dir / "prefect" / "prefect.pid",
        "postgres": settings.run_dir / "postgres" / "data" / "postmaster.pid",
    }
    pids = {}
    for name, path in files.items():
        try:
            pids[name] = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each service with its children, and by
    this process (the flow: stripe-python, Prefect's engine, SQLAlchemy, rating).
    Unlike wall time, these do not grow with the machine's load."""
    import psutil

    def used(process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    seconds = {"bench_process": used(psutil.Process())}
    for name, pid in pids.items():
        try:
            root = psutil.Process(pid)
            family = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        total = 0.0
        for process in family:
            try:
                total += used(process)
            except psutil.NoSuchProcess:
                pass
        seconds[name] = total
    return seconds


def _stripe_method(adapter, fn, *args) -> str:
    """'invoices.list' for the SDK's bound method `fn` (StripeAdapter._call's first argument)."""
    service = type(getattr(fn, "__self__", None)).__name__.removesuffix("Service")
    return f"{service}.{getattr(fn, '__name__', '?')}"


async def _seed(settings, tenants: int) -> list:
    """Tenants b0000.. with a subscription since 2000, created once and reused."""
    from sqlalchemy import select

    from billing_jobs.plans import Plan
    from meterline.bootstrap import pg_engine
    from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription
    from warehouse.postgres.tables import tenant
    from warehouse.postgres.tenants import insert_tenant

    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            if await get_plan(conn, PLAN["slug"]) is None:
                await insert_plan(conn, Plan.model_validate(PLAN))
            plan_id, _ = await get_plan(conn, PLAN["slug"])
            existing = {r.slug: r for r in await conn.execute(select(tenant).where(tenant.c.slug.like("bench%")))}
        started = time.perf_counter()
        for t in range(tenants):
            slug = f"bench{t:04d}"
            if slug in existing:
                continue
            async with engine.begin() as conn:
                record, _ = await insert_tenant(conn, slug=slug, name=slug, owner_email=f"o@{slug}.bench",
                                                owner_password_hash="x")
                await insert_subscription(conn, record.id, plan_id, started_at=datetime(2000, 1, 1, tzinfo=timezone.utc))
            if t % 100 == 99:
                print(f"seeded {t + 1} tenants ({time.perf_counter() - started:.0f} s)", flush=True)
        async with engine.connect() as conn:
            # Every bench tenant, not only --tenants: the flow invoices every subscribed one.
            rows = (await conn.execute(select(tenant.c.slug, tenant.c.schema_name).where(tenant.c.slug.like("bench%"))
                                       .order_by(tenant.c.slug))).all()
    finally:
        await engine.dispose()
    return rows


def _free_period(settings, schema_name: str) -> date:
    """The latest month before 2026 that tenant bench0000 has no invoice for."""
    from sqlalchemy import text

    from meterline.bootstrap import pg_sync_engine

    engine = pg_sync_engine(settings)
    try:
        with engine.connect() as conn:
            starts = set(conn.execute(text(f'SELECT period_start FROM "{schema_name}".invoice')).scalars())
    finally:
        engine.dispose()
    month = date(2025, 12, 1)
    while month in starts:
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def _write_usage(settings, rows, month: date) -> None:
    """One day of hourly usage per meter (24 windows x 10 meters per tenant), deterministic."""
    from sqlalchemy.dialects.postgresql import insert

    from meterline.bootstrap import pg_sync_engine
    from warehouse.postgres.tables import usage_hourly

    engine = pg_sync_engine(settings)
    day = datetime(month.year, month.month, 3, tzinfo=timezone.utc)
    try:
        with engine.begin() as conn:
            for index, (_, schema_name) in enumerate(rows):
                tconn = conn.execution_options(schema_translate_map={"tenant": schema_name})
                values = [{"meter_slug": f"m{m}", "window_start": day + timedelta(hours=h),
                           "quantity": Decimal((index * 7 + m * 131 + h * 17) % 900 + 1), "event_count": 1}
                          for m in range(10) for h in range(24)]
                # A run that failed before invoicing left its month's usage: keep it.
                tconn.execute(insert(usage_hourly).values(values).on_conflict_do_nothing())
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    # Tenants bench0000.. are created up to this number and kept; the flow then invoices
    # every bench tenant, so a smaller number after a larger run still invoices them all.
    parser.add_argument("--tenants", type=int, default=1000)
    args = parser.parse_args()

    from infra import infra_up
    from meterline.bootstrap import migrate
    from meterline.settings import get_settings

    settings = get_settings()
    infra_up(settings, only={"postgres", "stripe", "prefect"}, report=lambda line: print(line, flush=True))
    migrate(settings)
    rows = asyncio.run(_seed(settings, args.tenants))
    month = _free_period(settings, rows[0].schema_name)
    _write_usage(settings, rows, month)
    print(f"invoicing {len(rows)} tenants x 10 metered prices for {month:%Y-%m}", flush=True)

    import billing_jobs.invoice_service as invoice_service
    import billing_jobs.stripe.adapter as stripe_adapter
    import flows.invoicing as invoicing

    stripe_clock, rating_clock, task_clock = _Clock(_stripe_method), _Clock(), _Clock()
    stripe_adapter.StripeAdapter._call = stripe_clock.wrap(stripe_adapter.StripeAdapter._call)
    invoice_service.compose_segmented_invoice = rating_clock.wrap(invoice_service.compose_segmented_invoice)
    invoicing.invoice_tenant = task_clock.wrap(invoicing.invoice_tenant)

    pids = _service_pids(settings)
    cpu_before = _cpu_seconds(pids)
    started = time.perf_counter()
    summaries = invoicing.generate_invoices(period=f"{month:%Y-%m}")
    seconds = time.perf_counter() - started
    cpu_after = _cpu_seconds(pids)
    # Postgres children come and go (a backend per connection): those that ended during
    # the run are missed, so its figure is a lower bound.
    cpu_ms_per_invoice = {name: round(1000 * (cpu_after[name] - cpu_before.get(name, 0.0)) / max(1, len(summaries)), 1)
                          for name in cpu_after}

    statuses: dict[str, int] = {}
    for summary in summaries:
        statuses[summary.status] = statuses.get(summary.status, 0) + 1
    work = task_clock.total or 1.0
    result = {
        "tenants": len(summaries),
        "seconds": round(seconds, 2),
        "stripe_share": round(stripe_clock.total / work, 3),
        "rating_share": round(rating_clock.total / work, 3),
        "db_other_share": round(max(0.0, work - stripe_clock.total - rating_clock.total) / work, 3),
        "stripe_calls": stripe_clock.calls,
        # Calls per invoice do not depend on how busy the machine is, unlike seconds.
        "stripe_calls_per_invoice": round(stripe_clock.calls / max(1, len(summaries)), 2),
        "flow_concurrency": settings.billing.flow_concurrency,
        "task_seconds_summed": round(task_clock.total, 1),
        "statuses": statuses,
        "period": f"{month:%Y-%m}",
        "cpu_ms_per_invoice": cpu_ms_per_invoice,
    }
    for method, (calls, spent) in sorted(stripe_clock.by_label.items(), key=lambda kv: -kv[1][1]):
        print(f"  stripe {method:<28} {calls:>6} calls {spent:>9.1f} s summed {1000 * spent / calls:>7.1f} ms/call")
    print("  CPU per invoice (ms): " + ", ".join(f"{name} {ms}" for name, ms in cpu_ms_per_invoice.items()))
    print(f"{len(summaries)} invoices in {seconds:.1f} s, {result['stripe_calls_per_invoice']} Stripe calls per "
          f"invoice ({settings.billing.flow_concurrency} tasks at once); Stripe {result['stripe_share']:.0%}, rating "
          f"{result['rating_share']:.0%}, database and the rest {result['db_other_share']:.0%} of task time")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
