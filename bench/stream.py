"""Benchmark of the stream worker (issues 4 and 16); not a test.

    .venv/bin/python bench/stream.py [--events 500000] [--tenants 100] [--meters 10] [--rounds 3]
                                     [--old-code DIR] [--times scattered|recorded]
    .venv/bin/python bench/stream.py --catch-up 5000000 [--workers 1] [--keying tenant|subject]

Starts Kafka, PostgreSQL and the embedded-ClickHouse host under .run/bench (idempotent),
then, by default:

1. preloads a fresh topic (6 partitions) with --events events across --tenants tenants and
   --meters meters (2% duplicates, 2% late by up to three days), packed and keyed as the
   ingest service does (by tenant);
2. reads the whole topic with a raw aiokafka consumer (decoding each pack): the ceiling;
3. runs the floor pipeline over it (bench/stream_floor.py): decode, (tenant, id) into one
   unique index by COPY + ON CONFLICT DO NOTHING per batch, raw rows bulk-inserted into
   ClickHouse; events/s and CPU µs per event of this process, PostgreSQL, the chDB host, Kafka;
4. --rounds rounds of 2 then 1 stream workers (with --old-code DIR, first 1 and 2 workers
   of that checkout, e.g. `git archive main`, over the same events keyed tenant:subject
   as it keyed them), each from empty tenant tables on a fresh consumer group: events/s
   (ready -> every position committed), CPU µs per event per process, lock waits sampled
   from pg_locks / pg_stat_activity every 50 ms, each worker's peak RSS;
5. through the last run's worker (1 worker): visibility at a steady --rate events/s (Kafka
   acks=all -> counted by a usage query) and a month's usage query.

--catch-up N instead preloads N events with times in topic order (a backlog of live
traffic) and times --workers workers over it, sampling every 2 s the consumer-lag metric
(kafka_consumergroup_group_lag summed over partitions), PostgreSQL's positions and each
worker's RSS.

Ports: METERLINE_KAFKA__PORT, METERLINE_KAFKA__CONTROLLER_PORT, METERLINE_CLICKHOUSE__PORT
(the embedded-ClickHouse host) and METERLINE_BENCH_STREAM_WEB_PORT (workers take it and the
next ones) override the defaults below. METERLINE_STREAM__* variables reach the workers.

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_ENV = {
    "METERLINE_ENVIRONMENT": "test",
    "METERLINE_RUN_DIR": str(ROOT / ".run" / "bench"),
    "METERLINE_KAFKA__PORT": "39092",
    "METERLINE_KAFKA__CONTROLLER_PORT": "39093",
    "METERLINE_CLICKHOUSE__PORT": "38124",
}
WORKER_RUN_DIR = ROOT / ".run" / "bench-stream"
# Ports from the environment win (several benches may share a machine).
WEB_PORT = int(os.environ.get("METERLINE_BENCH_STREAM_WEB_PORT", "36066"))
PARTITIONS = 6
PACK = 500  # events per record, as ingest's max_pack_events


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _seed_tenants(settings, run: str, tenants: int, meters: int) -> list[uuid.UUID]:
    from meterline.bootstrap import pg_engine
    from metering import Meter
    from warehouse.postgres.meters import insert_meter
    from warehouse.postgres.tenants import insert_tenant

    engine = pg_engine(settings)
    ids = []
    try:
        for t in range(tenants):
            async with engine.begin() as conn:
                slug = f"b{run}-{t}"
                tenant, _ = await insert_tenant(conn, slug=slug, name=slug, owner_email=f"o@{slug}.bench",
                                                owner_password_hash="x")
                for m in range(meters):
                    aggregation, path = ("COUNT", None) if m % 2 == 0 else ("SUM", "tokens")
                    await insert_meter(conn, Meter(tenant.id, f"m{m}", f"type.{m}", aggregation, path))
                ids.append(tenant.id)
    finally:
        await engine.dispose()
    return ids


SPAN_S = 3000  # the preload's events cover the last 50 minutes


def _records(tenant_ids: list[uuid.UUID], meters: int, total: int, now: datetime,
             times: str = "scattered", keying: str = "tenant", tally: dict | None = None):
    """Packs of PACK events for one (tenant, subject), as (key, value), generated lazily (a
    5,000,000-event backlog is ~750 MB of records); `tally["distinct"]` counts distinct events.

    times="recorded": as a backlog of live traffic is, event times follow the topic's
    order over SPAN_S (a few seconds of jitter), except the 2% late ones. "scattered":
    every event at a random moment of SPAN_S, whatever its place in the topic (the worst
    case for window rows: every run of the topic touches every minute of every meter).
    keying="tenant": keyed as ingest keys records (issue 16); "subject": tenant:subject,
    as before it."""
    rng = random.Random(4)
    tally = {} if tally is None else tally
    tally["distinct"] = 0
    n = 0
    recent: dict[uuid.UUID, list[dict]] = {t: [] for t in tenant_ids}  # duplicates copy a tenant's own events
    while n < total:
        tenant_id = rng.choice(tenant_ids)
        subject = f"c{rng.randint(0, 49)}"
        events = []
        for _ in range(min(PACK, total - n)):
            n += 1
            own = recent[tenant_id]
            if own and rng.random() < 0.02:
                events.append(rng.choice(own))
                continue
            late = rng.random() < 0.02
            ago = rng.randint(0, SPAN_S) if times == "scattered" else SPAN_S * (total - n) / total + rng.random() * 5
            at = now - timedelta(hours=rng.randint(1, 72) if late else 0, seconds=ago)
            m = rng.randrange(meters)
            event = {"id": uuid.uuid4().hex, "source": "bench", "type": f"type.{m}", "subject": subject,
                     "time": at.isoformat(), "data": {"tokens": rng.randint(1, 99)}}
            tally["distinct"] += 1
            if len(own) < 1_000:
                own.append(event)
            else:
                own[rng.randrange(1_000)] = event
            events.append(event)
        key = f"{tenant_id}:{subject}" if keying == "subject" else f"{tenant_id}"
        yield (key.encode(), orjson.dumps({"tenant_id": str(tenant_id), "received_at": now.isoformat(),
                                           "events": events}))


async def _produce(bootstrap: str, topic: str, records) -> int:
    """Every (key, value) of the iterable to the topic; returns how many records."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                compression_type="lz4", linger_ms=5, max_batch_size=1024 * 1024,
                                max_request_size=8 * 1024 * 1024)
    await producer.start()
    count, chunk = 0, []
    try:
        for record in records:
            chunk.append(record)
            if len(chunk) == 500:
                await asyncio.gather(*[await producer.send(topic, value=v, key=k) for k, v in chunk])
                count, chunk = count + len(chunk), []
        await asyncio.gather(*[await producer.send(topic, value=v, key=k) for k, v in chunk])
        return count + len(chunk)
    finally:
        await producer.stop()


async def raw_consumer_eps(bootstrap: str, topic: str, expected_events: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    seen = 0
    started = time.perf_counter()
    try:
        while seen < expected_events:
            for messages in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                for message in messages:
                    seen += len(orjson.loads(message.value)["events"])
    finally:
        await consumer.stop()
    return seen / (time.perf_counter() - started)


async def _status(http: httpx.AsyncClient) -> dict:
    return (await http.get("/internal/stream-status")).json()


class CpuMeter:
    """CPU seconds (user + system) spent by each process of the pipeline: unlike wall time,
    they do not depend on what else the shared machine runs."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        import psutil

        self._processes = {name: psutil.Process(pid) for name, pid in pids.items() if pid}

    def _seconds(self, process) -> float:
        # Children that exited and were reaped (a PostgreSQL backend whose client closed)
        # count in the parent's children_* times; live ones are counted themselves.
        try:
            reaped = process.cpu_times()
            total = reaped.children_user + reaped.children_system
        except Exception:  # noqa: BLE001
            total = 0.0
        for p in [process, *process.children(recursive=True)]:
            try:
                times = p.cpu_times()
                total += times.user + times.system
            except Exception:  # noqa: BLE001 - a backend that just exited
                pass
        return total

    def snapshot(self) -> dict[str, float]:
        return {name: self._seconds(p) for name, p in self._processes.items()}


class OwnCpu:
    """This process's own CPU seconds (not its children: the services it started)."""

    def snapshot(self) -> dict[str, float]:
        times = os.times()
        return {"floor": times.user + times.system}


def _pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


async def stream_eps(settings, group: str, topic: str, events: int, records: int,
                     poll_s: float = 0.05) -> tuple[float, float, int]:
    """From every worker's readiness to every record's position committed, read from
    PostgreSQL's positions (the truth for any number of workers). Records are PACK events
    each, so the events applied in between are the records still to apply then x PACK.
    Returns (events/s, seconds, events applied in the interval)."""
    from meterline.bootstrap import pg_engine
    from warehouse.postgres.usage import list_positions

    engine = pg_engine(settings)

    async def applied() -> int:
        async with engine.connect() as conn:
            return sum(r.next_offset for r in await list_positions(conn, group) if r.topic == topic)

    try:
        already = await applied()
        counted = min(events, (records - already) * PACK)
        started = time.perf_counter()
        while await applied() < records:
            await asyncio.sleep(poll_s)
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return counted / elapsed, elapsed, counted


async def visibility(settings, topic: str, http: httpx.AsyncClient, tenant_id: uuid.UUID, rate: int,
                     seconds: float, load_tenants: list[uuid.UUID], aligned: bool) -> list[float]:
    """Probe events (type.0 of one tenant) among a steady `rate` events/s of load, counted by
    a usage query over hours around now: hour-aligned (`aligned`: the committed windows
    answer, as for the month query) or from now - 1 h to now + 1 h (raw events answer)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=5)
    await producer.start()
    stop = asyncio.Event()
    now = datetime.now(timezone.utc)

    async def load() -> None:
        tick = 0.1
        while not stop.is_set():
            tenant_id_ = random.choice(load_tenants)
            events = [{"id": uuid.uuid4().hex, "source": "bench", "type": "type.1", "subject": "load",
                       "time": datetime.now(timezone.utc).isoformat(), "data": {"tokens": 1}}
                      for _ in range(int(rate * tick))]
            value = orjson.dumps({"tenant_id": str(tenant_id_), "received_at": now.isoformat(), "events": events})
            await producer.send(topic, value=value, key=f"{tenant_id_}:load".encode())
            await asyncio.sleep(tick)

    around = now.replace(minute=0, second=0, microsecond=0) if aligned else now
    params = {"tenant_id": str(tenant_id), "slug": "m0", "start": (around - timedelta(hours=1)).isoformat(),
              "end": (around + timedelta(hours=2 if aligned else 1)).isoformat()}

    async def counted() -> int:
        body = (await http.get("/internal/usage", params=params)).json()
        return sum(p["event_count"] for p in body["points"])

    loader = asyncio.create_task(load())
    delays = []
    try:
        base = await counted()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            event = {"id": uuid.uuid4().hex, "source": "bench", "type": "type.0", "subject": "probe",
                     "time": datetime.now(timezone.utc).isoformat(), "data": {}}
            value = orjson.dumps({"tenant_id": str(tenant_id), "received_at": now.isoformat(), "events": [event]})
            await (await producer.send(topic, value=value, key=f"{tenant_id}:probe".encode()))
            acked = time.perf_counter()
            base += 1
            while await counted() < base:
                await asyncio.sleep(0.005)
            delays.append(time.perf_counter() - acked)
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await loader
        await producer.stop()
    return delays


async def usage_query_ms(http: httpx.AsyncClient, tenant_id: uuid.UUID, n: int, raw: bool = False,
                         source: str = "postgres") -> list[float]:
    """A month of hourly points, as the admin API asks it: day-aligned, so rollups answer,
    by default PostgreSQL's committed windows (`source="clickhouse"` the ClickHouse
    rollups, `raw` the raw events, for comparison)."""
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    params = {"tenant_id": str(tenant_id), "slug": "m1", "window": "hour",
              "start": (today - timedelta(days=30)).isoformat(), "end": (today + timedelta(days=1)).isoformat(),
              "source": source, **({"raw": "1"} if raw else {})}
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        response = await http.get("/internal/usage", params=params)
        response.raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    assert response.json()["read_from"] == ("raw" if raw else f"{'rollup' if source == 'clickhouse' else source}:hour"), \
        response.json()["read_from"]
    return timings


# What the stream writes per tenant: emptied between runs, so each run starts as the first.
STREAM_TABLES = ("processed_event", "usage_minute", "usage_hourly", "usage_daily", "duplicate_tally",
                 "duplicate_conflict", "dead_letter", "usage_correction")


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


async def _reset_counts(dsn: str, tenant_ids: list[uuid.UUID]) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        schemas = [r[0] for r in await (await conn.execute(
            "SELECT schema_name FROM public.tenant WHERE id = ANY(%s)", [tenant_ids])).fetchall()]
        await conn.execute("TRUNCATE " + ", ".join(f'"{s}".{t}' for s in schemas for t in STREAM_TABLES))


def _mean(values):
    return round(statistics.fmean(values), 1) if values else None


class Bench:
    """One bench run's infrastructure, tenants and topics, and how to run workers over them."""

    def __init__(self, args) -> None:
        for name, value in BENCH_ENV.items():
            os.environ.setdefault(name, value)
        from infra import infra_up
        from meterline.bootstrap import migrate
        from meterline.settings import Settings

        self.args = args
        self.settings = settings = Settings()
        # ClickHouse too: chDB is owned by the embedded host, which the worker writes through.
        infra_up(settings, only={"kafka", "postgres", "clickhouse"})
        migrate(settings)
        self.run = uuid.uuid4().hex[:6]
        self.dsn = _libpq(settings.postgres_url)
        run_dir = Path(settings.run_dir)
        self.services = {"clickhouse_host": _pid_file(run_dir / "clickhouse-host" / "clickhouse-host.pid"),
                         "postgres": _pid_file(run_dir / "postgres" / "data" / "postmaster.pid"),
                         "kafka": _pid_file(run_dir / "kafka" / "kafka.pid")}
        self.groups = 0

    async def create_topic(self, topic: str) -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, PARTITIONS, 1), NewTopic(topic + ".dead", 1, 1)])
        finally:
            await admin.close()

    def preload(self, topic: str, tenant_ids, events: int, times: str, keying: str) -> tuple[int, int]:
        """(records, distinct events) in a new topic."""
        asyncio.run(self.create_topic(topic))
        tally: dict = {}
        started = time.perf_counter()
        records = asyncio.run(_produce(self.settings.kafka_bootstrap, topic, _records(
            tenant_ids, self.args.meters, events, datetime.now(timezone.utc), times, keying, tally)))
        print(f"preloaded {events:,} events ({tally['distinct']:,} distinct) in {records:,} records keyed by "
              f"{keying} into {topic} in {time.perf_counter() - started:.1f} s", flush=True)
        return records, tally["distinct"]

    def workers(self, count: int, topic: str, group: str, old_code: str | None = None) -> list:
        from infra.processes import ManagedProcess

        def worker(i: int) -> ManagedProcess:
            run_dir = WORKER_RUN_DIR if i == 0 else WORKER_RUN_DIR.with_name(f"bench-stream-{i}")
            port = WEB_PORT + i
            env = {"METERLINE_RUN_DIR": str(run_dir), "METERLINE_POSTGRES__URL": self.settings.postgres_url,
                   # Its own run dir, but the bench's ClickHouse host, which refuses a client without its secret.
                   "METERLINE_CLICKHOUSE__HOST_SECRET_FILE": str(self.settings.clickhouse_host_secret_file),
                   "METERLINE_STREAM__WEB_PORT": str(port), "METERLINE_STREAM__CONSUMER_GROUP": group,
                   "METERLINE_KAFKA__EVENTS_TOPIC": topic, "METERLINE_KAFKA__DEAD_LETTER_TOPIC": topic + ".dead",
                   "METERLINE_KAFKA__EVENTS_PARTITIONS": str(PARTITIONS)}
            if old_code:  # another checkout's code in the worker (the A/B against main)
                env["PYTHONPATH"] = old_code
            return ManagedProcess(
                name="stream", command=[str(Path(sys.executable).with_name("meterline")), "serve", "stream"],
                state_dir=run_dir / "services", port=port, start_timeout_s=120,
                ready=lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200, env=env)

        # Started together, so the group's first rebalance happens at the start, not mid-run.
        started = [worker(i) for i in range(count)]
        with ThreadPoolExecutor(max_workers=count) as starting:
            list(starting.map(lambda w: w.start(), started))
        return started

    def count_run(self, label: str, count: int, topic: str, tenant_ids, events: int, records: int,
                  old_code: str | None = None, keep: bool = False):
        """`count` workers over the whole topic, from empty tenant tables: events/s, CPU µs
        per event per process, lock waits and peak RSS. Returns (figures, workers if kept)."""
        from bench.stream_probes import sample_lock_waits, sample_rss

        asyncio.run(_reset_counts(self.dsn, tenant_ids))
        self.groups += 1
        group = f"bench-{self.run}-{self.groups}"
        workers = self.workers(count, topic, group, old_code)
        pids = [w.pid() for w in workers]
        names = ["worker"] if count == 1 else [f"worker{i}" for i in range(count)]
        cpu = CpuMeter({**dict(zip(names, pids, strict=True)), **self.services})

        async def measure():
            stop = asyncio.Event()
            locks = asyncio.create_task(sample_lock_waits(self.dsn, stop))
            rss = asyncio.create_task(sample_rss(pids, stop))
            before = cpu.snapshot()
            try:
                eps, elapsed, counted = await stream_eps(self.settings, group, topic, events, records)
            finally:
                stop.set()
            spent = {name: seconds - before[name] for name, seconds in cpu.snapshot().items()}
            return eps, elapsed, counted, spent, await locks, await rss

        try:
            eps, elapsed, counted, spent, locks, peak = asyncio.run(measure())
        except BaseException:
            for w in workers:
                w.stop()
            raise
        cpu_us = {name: round(seconds / counted * 1e6, 1) for name, seconds in spent.items()}
        cpu_us["workers"] = round(sum(v for k, v in cpu_us.items() if k.startswith("worker")), 1)
        cpu_us["all"] = round(sum(v for k, v in cpu_us.items() if k not in ("workers",)), 1)
        figures = {"label": label, "workers": count, "eps": round(eps), "seconds": round(elapsed, 1),
                   "cpu_us_per_event": cpu_us, "lock_waits": locks.as_dict(),
                   "peak_rss_mb": [round(x) for x in peak], "load_average": round(os.getloadavg()[0], 2)}
        print(f"[{label}] {eps:,.0f} events/s ({counted:,} events in {elapsed:.1f} s); CPU µs/event "
              + ", ".join(f"{k} {v}" for k, v in cpu_us.items())
              + f"; lock waits in {locks.samples_with_waits}/{locks.samples} samples {dict(locks.by_kind)} "
              f"{dict(locks.by_table)} from {locks.seconds[:1]} to {locks.seconds[-1:]} s; "
              f"peak RSS {figures['peak_rss_mb']} MB; load {figures['load_average']}", flush=True)
        if keep:
            return figures, workers
        for w in workers:
            w.stop()
        return figures, None

    def floor_run(self, topic: str, events: int) -> dict:
        from bench.stream_floor import floor_pipeline
        from warehouse.clickhouse.client import open_clickhouse

        clickhouse = open_clickhouse(self.settings.clickhouse)
        cpu = CpuMeter(self.services)
        own = OwnCpu()
        before = {**own.snapshot(), **cpu.snapshot()}
        eps, seen = asyncio.run(floor_pipeline(self.settings.kafka_bootstrap, topic, events, self.dsn, clickhouse,
                                               self.settings.clickhouse.database, self.run))
        after = {**own.snapshot(), **cpu.snapshot()}
        cpu_us = {name: round((after[name] - before[name]) / seen * 1e6, 1) for name in before}
        cpu_us["all"] = round(sum(cpu_us.values()), 1)
        print(f"[floor] {eps:,.0f} events/s ({seen:,} events); CPU µs/event "
              + ", ".join(f"{k} {v}" for k, v in cpu_us.items()), flush=True)
        return {"eps": round(eps), "cpu_us_per_event": cpu_us, "load_average": round(os.getloadavg()[0], 2)}


def _summary(runs: list[dict], label: str) -> dict:
    mine = [r for r in runs if r["label"] == label]
    keys = set().union(*(r["cpu_us_per_event"] for r in mine)) if mine else set()
    return {"eps": [r["eps"] for r in mine], "eps_mean": _mean([r["eps"] for r in mine]),
            "cpu_us_per_event": {k: _mean([r["cpu_us_per_event"].get(k, 0) for r in mine]) for k in sorted(keys)},
            "lock_wait_samples": sum(r["lock_waits"]["samples_with_waits"] for r in mine),
            "peak_rss_mb": max((max(r["peak_rss_mb"]) for r in mine), default=None)}


def interleaved(bench: Bench, args) -> dict:
    """The floor, then rounds of every design (1 and 2 workers of this code; with --old-code,
    1 and 2 workers of that checkout over records keyed as it keys them), interleaved."""
    print(f"seeding {args.tenants} tenants x {args.meters} meters ...", flush=True)
    tenant_ids = asyncio.run(_seed_tenants(bench.settings, bench.run, args.tenants, args.meters))
    topic = f"bench.stream.{bench.run}"
    records, _ = bench.preload(topic, tenant_ids, args.events, args.times, "tenant")
    raw = asyncio.run(raw_consumer_eps(bench.settings.kafka_bootstrap, topic, args.events))
    print(f"raw aiokafka consumer (decoding packs): {raw:,.0f} events/s", flush=True)
    counts = [int(c) for c in args.worker_counts.split(",")]
    designs = [(f"new-{c}w", c, topic, None) for c in counts]
    if args.old_code:
        old_topic, old_records = topic, records
        if args.old_keying != "tenant":
            old_topic, old_records = topic + ".old", bench.preload(topic + ".old", tenant_ids, args.events,
                                                                    args.times, args.old_keying)[0]
        designs = [*[(f"old-{c}w", c, old_topic, args.old_code) for c in reversed(counts)], *designs]
    floor = bench.floor_run(topic, args.events)
    runs, kept = [], None
    for round_ in range(args.rounds):
        for label, count, design_topic, code in designs:
            last = round_ == args.rounds - 1 and label == designs[-1][0]
            n = old_records if code else records
            figures, kept = bench.count_run(label, count, design_topic, tenant_ids, args.events, n, code, keep=last)
            runs.append({**figures, "round": round_})
    try:
        result = asyncio.run(_kept_worker_figures(bench, args, topic, tenant_ids))
    finally:
        for w in kept or []:
            w.stop()
    summaries = {label: _summary(runs, label) for label, *_ in designs}
    two_label = "new-2w" if "new-2w" in summaries else "new-1w"
    one, two = summaries["new-1w"], summaries.get("new-2w", summaries["new-1w"])
    pairs = [b["eps"] / a["eps"] for a, b in zip([r for r in runs if r["label"] == "new-1w"],
                                                  [r for r in runs if r["label"] == two_label], strict=True)]
    return {"events": args.events, "times": args.times, "rounds": args.rounds, "raw_consumer_eps": round(raw),
            "floor_eps": floor["eps"], "stream_eps": one["eps_mean"],
            "ratio": round(one["eps_mean"] / floor["eps"], 3),
            # The stream as this machine would run it: a worker per core.
            "stream_2w_eps": two["eps_mean"], "ratio_2w": round(two["eps_mean"] / floor["eps"], 3),
            "workers_2_vs_1": round(two["eps_mean"] / one["eps_mean"], 3),
            "workers_2_vs_1_per_round": [round(x, 3) for x in pairs],
            "lock_waits": {label: s["lock_wait_samples"] for label, s in summaries.items()},
            # This code's workers: the old design's figure is in "designs".
            "peak_rss_mb": max(s["peak_rss_mb"] for label, s in summaries.items() if label.startswith("new")),
            **result,
            "cpu_us_per_event": {"floor": floor["cpu_us_per_event"],
                                 **{label: s["cpu_us_per_event"] for label, s in summaries.items()}},
            "designs": {label: {k: v for k, v in s.items() if k != "cpu_us_per_event"} for label, s in summaries.items()},
            "load_average": [round(x, 2) for x in os.getloadavg()]}


async def _kept_worker_figures(bench: Bench, args, topic: str, tenant_ids) -> dict:
    """Visibility and the month query through the last run's worker (kept running)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{WEB_PORT}", timeout=60) as http:
        delays = await visibility(bench.settings, topic, http, tenant_ids[0], args.rate, args.visibility_seconds,
                                  tenant_ids[1:], aligned=True)
        print(f"visible after Kafka ack at {args.rate:,} events/s, hour-aligned query (committed windows): "
              f"p50 {statistics.median(delays):.3f} s, p99 {_p(delays, 0.99):.3f} s ({len(delays)} probes)",
              flush=True)
        timings = await usage_query_ms(http, tenant_ids[1], 200)
        print(f"month usage query through the worker, from PostgreSQL's committed hour windows: "
              f"p50 {statistics.median(timings):.1f} ms, p99 {_p(timings, 0.99):.1f} ms", flush=True)
        ch_timings = await usage_query_ms(http, tenant_ids[1], 100, source="clickhouse")
        print(f"the same query from the ClickHouse hour rollups: p50 {statistics.median(ch_timings):.1f} ms, "
              f"p99 {_p(ch_timings, 0.99):.1f} ms", flush=True)
    return {"visible_p50_s": round(statistics.median(delays), 3), "visible_p99_s": round(_p(delays, 0.99), 3),
            "usage_query_p50_ms": round(statistics.median(timings), 1),
            "usage_query_p99_ms": round(_p(timings, 0.99), 1),
            "clickhouse_rollup_query_p99_ms": round(_p(ch_timings, 0.99), 1)}


def catch_up(bench: Bench, args) -> dict:
    """One catch-up over a backlog of --catch-up events (times as recorded): events/s, each
    worker's RSS and the consumer-lag metric sampled every 2 s."""
    from bench.stream_probes import sample_catch_up, sample_rss
    from meterline.bootstrap import pg_engine
    from warehouse.postgres.usage import list_positions

    tenant_ids = asyncio.run(_seed_tenants(bench.settings, bench.run, args.tenants, args.meters))
    topic = f"bench.stream.{bench.run}.catchup"
    records, _ = bench.preload(topic, tenant_ids, args.catch_up, "recorded", args.keying)
    bench.groups += 1
    group = f"bench-{bench.run}-catchup"
    workers = bench.workers(args.workers, topic, group, args.old_code)
    pids = [w.pid() for w in workers]
    cpu = CpuMeter({**{f"worker{i}": p for i, p in enumerate(pids)}, **bench.services})

    async def measure():
        engine = pg_engine(bench.settings)

        async def applied() -> int:
            async with engine.connect() as conn:
                return sum(r.next_offset for r in await list_positions(conn, group) if r.topic == topic)

        stop = asyncio.Event()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{WEB_PORT}", timeout=10) as http:
            sampler = asyncio.create_task(sample_catch_up(http, pids, applied, stop))
            peak = asyncio.create_task(sample_rss(pids, stop))
            before = cpu.snapshot()
            try:
                eps, elapsed, counted = await stream_eps(bench.settings, group, topic, args.catch_up, records, 0.5)
            finally:
                stop.set()
                await engine.dispose()
            spent = {name: seconds - before[name] for name, seconds in cpu.snapshot().items()}
            return eps, elapsed, counted, spent, await sampler, await peak

    try:
        eps, elapsed, counted, spent, samples, peak = asyncio.run(measure())
    finally:
        for w in workers:
            w.stop()
    cpu_us = {name: round(seconds / counted * 1e6, 1) for name, seconds in spent.items()}
    cpu_us["all"] = round(sum(cpu_us.values()), 1)
    for s in samples:
        print(f"  t={s['t_s']:>6} s  lag {s['lag_records']}  applied {s['applied_records']:,} records  "
              f"RSS {s['rss_mb']} MB", flush=True)
    print(f"[catch-up] {eps:,.0f} events/s ({counted:,} events in {elapsed:.1f} s), peak RSS "
          f"{[round(x) for x in peak]} MB; CPU µs/event " + ", ".join(f"{k} {v}" for k, v in cpu_us.items()),
          flush=True)
    return {"catch_up_events": args.catch_up, "workers": args.workers, "keying": args.keying,
            "stream_eps": round(eps), "seconds": round(elapsed, 1), "peak_rss_mb": round(max(peak)),
            "cpu_us_per_event": cpu_us, "lag_samples": [[s["t_s"], s["lag_records"]] for s in samples],
            "rss_samples": [[s["t_s"], s["rss_mb"]] for s in samples],
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--visibility-seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 2 and 1 workers, interleaved")
    parser.add_argument("--times", choices=("recorded", "scattered"), default="scattered",
                        help="event times in topic order (a backlog of live traffic) or scattered at random")
    parser.add_argument("--old-code", help="a checkout of the old design (e.g. `git archive main`): its workers "
                                           "run in the rounds too, over records keyed tenant:subject")
    parser.add_argument("--old-keying", choices=("tenant", "subject"), default="subject",
                        help="record keys the old code reads (tenant: the same topic as the new code)")
    parser.add_argument("--worker-counts", default="2,1", help="worker counts of each design's rounds, e.g. 1")
    parser.add_argument("--catch-up", type=int, help="instead: one catch-up over a backlog of this many events")
    parser.add_argument("--workers", type=int, default=1, help="workers of the catch-up")
    parser.add_argument("--keying", choices=("tenant", "subject"), default="tenant", help="record keys of the catch-up")
    args = parser.parse_args()

    bench = Bench(args)
    summary = catch_up(bench, args) if args.catch_up else interleaved(bench, args)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
