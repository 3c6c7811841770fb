"""Benchmark of the stream worker (issue 4 "Speed"); not a test.

    /tmp/setup/venv/bin/python bench/stream.py [--events 500000] [--tenants 100] [--meters 10]

Starts Kafka and PostgreSQL under .run/bench (as bench/ingest.py does; idempotent), a
stream worker of its own (run dir .run/bench-stream, so its own chDB; web port 36066;
a fresh topic and consumer group per run), then:

1. preloads the topic with --events events across --tenants tenants and --meters meters
   (2% duplicates, 2% late by up to three days), packed as the ingest service packs them;
2. reads the whole topic with a raw aiokafka consumer (decoding each pack): the ceiling;
3. starts the worker and times it through both sinks (ready -> every position committed);
4. offers a steady --rate events/s and measures, for probe events, the delay from
   Kafka's acks=all acknowledgement (what ingest waits for before its 202) to the event
   being counted by a usage query through the worker;
5. times a month's usage query for one tenant and meter, as the admin API asks it
   (day-aligned, so the rollups answer), and the same query from raw events.

Ports: METERLINE_KAFKA__PORT, METERLINE_KAFKA__CONTROLLER_PORT, METERLINE_CLICKHOUSE__PORT
(the embedded-ClickHouse host) and METERLINE_BENCH_STREAM_WEB_PORT override the defaults below.

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
             times: str = "scattered") -> tuple[list, int]:
    """Packs of PACK events for one (tenant, subject); returns (records, distinct events).

    times="recorded": as a backlog of live traffic is, event times follow the topic's
    order over SPAN_S (a few seconds of jitter), except the 2% late ones. "scattered":
    every event at a random moment of SPAN_S, whatever its place in the topic (the worst
    case for window rows: every run of the topic touches every minute of every meter)."""
    rng = random.Random(4)
    records, distinct, n = [], 0, 0
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
            distinct += 1
            if len(own) < 1_000:
                own.append(event)
            else:
                own[rng.randrange(1_000)] = event
            events.append(event)
        records.append((f"{tenant_id}:{subject}".encode(),
                        orjson.dumps({"tenant_id": str(tenant_id), "received_at": now.isoformat(), "events": events})))
    return records, distinct


async def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                compression_type="lz4", linger_ms=5, max_batch_size=1024 * 1024,
                                max_request_size=8 * 1024 * 1024)
    await producer.start()
    try:
        for i in range(0, len(records), 500):
            await asyncio.gather(*[await producer.send(topic, value=v, key=k) for k, v in records[i:i + 500]])
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


def _pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


async def stream_eps(settings, group: str, topic: str, events: int, records: int) -> tuple[float, float, int]:
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
            await asyncio.sleep(0.05)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--visibility-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1, help="stream workers in one consumer group")
    parser.add_argument("--times", choices=("recorded", "scattered"), default="scattered",
                        help="event times in topic order (a backlog of live traffic) or scattered at random")
    args = parser.parse_args()

    for name, value in BENCH_ENV.items():
        os.environ.setdefault(name, value)
    from infra import infra_up
    from infra.processes import ManagedProcess
    from meterline.bootstrap import migrate
    from meterline.settings import Settings

    settings = Settings()
    # ClickHouse too: chDB is owned by the embedded host, which the worker writes through.
    infra_up(settings, only={"kafka", "postgres", "clickhouse"})
    migrate(settings)
    run = uuid.uuid4().hex[:6]
    topic = f"bench.stream.{run}"

    async def create_topic() -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, PARTITIONS, 1), NewTopic(topic + ".dead", 1, 1)])
        finally:
            await admin.close()

    asyncio.run(create_topic())
    print(f"seeding {args.tenants} tenants x {args.meters} meters ...", flush=True)
    tenant_ids = asyncio.run(_seed_tenants(settings, run, args.tenants, args.meters))
    now = datetime.now(timezone.utc)
    records, distinct = _records(tenant_ids, args.meters, args.events, now, args.times)
    started = time.perf_counter()
    asyncio.run(_produce(settings.kafka_bootstrap, topic, records))
    print(f"preloaded {args.events:,} events ({distinct:,} distinct) in {len(records):,} records "
          f"in {time.perf_counter() - started:.1f} s", flush=True)

    raw = asyncio.run(raw_consumer_eps(settings.kafka_bootstrap, topic, args.events))
    print(f"raw aiokafka consumer (decoding packs): {raw:,.0f} events/s", flush=True)

    def worker_process(i: int) -> ManagedProcess:
        run_dir, port = (WORKER_RUN_DIR if i == 0 else WORKER_RUN_DIR.with_name(f"bench-stream-{i}")), WEB_PORT + i
        return ManagedProcess(
            name="stream", command=[str(Path(sys.executable).with_name("meterline")), "serve", "stream"],
            state_dir=run_dir / "services", port=port, start_timeout_s=120,
            ready=lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200,
            # Its own run dir, but the bench's ClickHouse host, which refuses a client without its secret.
            env={"METERLINE_RUN_DIR": str(run_dir), "METERLINE_POSTGRES__URL": settings.postgres_url,
                 "METERLINE_CLICKHOUSE__HOST_SECRET_FILE": str(settings.clickhouse_host_secret_file),
                 "METERLINE_STREAM__WEB_PORT": str(port), "METERLINE_STREAM__CONSUMER_GROUP": f"bench-{run}",
                 "METERLINE_KAFKA__EVENTS_TOPIC": topic, "METERLINE_KAFKA__DEAD_LETTER_TOPIC": topic + ".dead",
                 "METERLINE_KAFKA__EVENTS_PARTITIONS": str(PARTITIONS)},
        )

    # Several workers in one consumer group share the partitions; started together, so
    # the group's first rebalance happens at the start, not in the middle of the run.
    workers = [worker_process(i) for i in range(args.workers)]
    with ThreadPoolExecutor(max_workers=len(workers)) as starting:
        list(starting.map(lambda w: w.start(), workers))
    run_dir = Path(settings.run_dir)
    worker_pids = ({"worker": workers[0].pid()} if len(workers) == 1
                   else {f"worker{i}": w.pid() for i, w in enumerate(workers)})
    cpu = CpuMeter({**worker_pids, "clickhouse_host": _pid_file(run_dir / "clickhouse-host" / "clickhouse-host.pid"),
                    "postgres": _pid_file(run_dir / "postgres" / "data" / "postmaster.pid"),
                    "kafka": _pid_file(run_dir / "kafka" / "kafka.pid")})
    try:
        async def measure() -> dict:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{WEB_PORT}", timeout=60) as http:
                before = cpu.snapshot()
                eps, elapsed, counted = await stream_eps(settings, f"bench-{run}", topic, args.events, len(records))
                spent = {name: seconds - before[name] for name, seconds in cpu.snapshot().items()}
                print(f"stream end to end into PostgreSQL + chDB, {args.workers} worker(s): {eps:,.0f} events/s "
                      f"({counted:,} events in {elapsed:.1f} s)", flush=True)
                cpu_us = {name: round(seconds / counted * 1e6, 1) for name, seconds in spent.items()}
                print("CPU per event during it (microseconds): "
                      + ", ".join(f"{name} {us}" for name, us in cpu_us.items())
                      + f"; all {sum(cpu_us.values()):.1f}", flush=True)
                delays = await visibility(settings, topic, http, tenant_ids[0], args.rate, args.visibility_seconds,
                                          tenant_ids[1:], aligned=True)
                print(f"visible after Kafka ack at {args.rate:,} events/s, hour-aligned query (committed windows): "
                      f"p50 {statistics.median(delays):.3f} s, p99 {_p(delays, 0.99):.3f} s ({len(delays)} probes)",
                      flush=True)
                raw_delays = await visibility(settings, topic, http, tenant_ids[0], args.rate, args.visibility_seconds,
                                              tenant_ids[1:], aligned=False)
                print(f"visible after Kafka ack at {args.rate:,} events/s, unaligned query (raw events): "
                      f"p50 {statistics.median(raw_delays):.3f} s, p99 {_p(raw_delays, 0.99):.3f} s "
                      f"({len(raw_delays)} probes)", flush=True)
                timings = await usage_query_ms(http, tenant_ids[1], 200)
                print(f"month usage query through the worker, from PostgreSQL's committed hour windows: "
                      f"p50 {statistics.median(timings):.1f} ms, p99 {_p(timings, 0.99):.1f} ms", flush=True)
                ch_timings = await usage_query_ms(http, tenant_ids[1], 200, source="clickhouse")
                print(f"the same query from the ClickHouse hour rollups: p50 {statistics.median(ch_timings):.1f} ms, "
                      f"p99 {_p(ch_timings, 0.99):.1f} ms", flush=True)
                raw_timings = await usage_query_ms(http, tenant_ids[1], 50, raw=True)
                print(f"the same query from raw events: p50 {statistics.median(raw_timings):.1f} ms, "
                      f"p99 {_p(raw_timings, 0.99):.1f} ms", flush=True)
                return {"events": args.events, "workers": args.workers, "times": args.times, "raw_consumer_eps": round(raw), "stream_eps": round(eps),
                        "ratio": round(eps / raw, 3), "visible_p50_s": round(statistics.median(delays), 3),
                        "visible_p99_s": round(_p(delays, 0.99), 3),
                        "visible_raw_query_p50_s": round(statistics.median(raw_delays), 3),
                        "visible_raw_query_p99_s": round(_p(raw_delays, 0.99), 3),
                        "usage_query_p99_ms": round(_p(timings, 0.99), 1),
                        "usage_query_p50_ms": round(statistics.median(timings), 1),
                        "clickhouse_rollup_query_p99_ms": round(_p(ch_timings, 0.99), 1),
                        "cpu_us_per_event": cpu_us, "load_average": [round(x, 2) for x in os.getloadavg()]}

        summary = asyncio.run(measure())
    finally:
        for worker in workers:
            worker.stop()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
