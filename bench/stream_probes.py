"""What bench/stream.py measures while workers run: CPU seconds per process, events/s from
PostgreSQL's positions, visibility and the usage query, and samplers of PostgreSQL lock
waits, worker memory and consumer lag (asyncio tasks that stop when told)."""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import orjson

from bench.stream_load import PACK

# Backends of this database waiting for a lock that another backend holds: between stream
# workers (their transactions), or a worker and its own timers. Only the bench's workers
# use the bench's database while it runs.
_WAITING = """
SELECT a.pid, l.locktype, l.mode, left(a.query, 300), pg_blocking_pids(a.pid)
FROM pg_stat_activity AS a JOIN pg_locks AS l ON l.pid = a.pid AND NOT l.granted
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
"""


@dataclass
class LockWaits:
    samples: int = 0
    samples_with_waits: int = 0
    waiting_backends: int = 0  # summed over samples
    by_kind: Counter = field(default_factory=Counter)
    by_table: Counter = field(default_factory=Counter)  # what the waiting statement writes
    seconds: list = field(default_factory=list)  # when (since sampling began) waits were seen

    def as_dict(self) -> dict:
        return {"samples": self.samples, "samples_with_waits": self.samples_with_waits,
                "waiting_backend_samples": self.waiting_backends,
                "by_kind": dict(self.by_kind.most_common(5)), "by_table": dict(self.by_table.most_common(6)),
                "first_s": self.seconds[0] if self.seconds else None,
                "last_s": self.seconds[-1] if self.seconds else None}


async def sample_lock_waits(dsn: str, stop: asyncio.Event, every_s: float = 0.05) -> LockWaits:
    import psycopg

    waits = LockWaits()
    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            rows = await (await conn.execute(_WAITING)).fetchall()
            waits.samples += 1
            if rows:
                waits.samples_with_waits += 1
                waits.waiting_backends += len(rows)
                waits.by_kind.update(f"{locktype}/{mode}" for _, locktype, mode, *_ in rows)
                waits.by_table.update(_table(query) for _, _, _, query, _ in rows)
                waits.seconds.append(round(time.perf_counter() - started, 1))
            try:
                await asyncio.wait_for(stop.wait(), every_s)
            except TimeoutError:
                pass
    return waits


_TABLES = ("stream_position", "processed_event", "usage_", "meter", "duplicate", "dead_letter")


def _table(query: str | None) -> str:
    for name in _TABLES:
        if name in (query or ""):
            return name
    return (query or "?")[:40]


def rss_mb(pids) -> list[float]:
    """Resident memory of each process (with its children), in MB."""
    import psutil

    out = []
    for pid in pids:
        try:
            process = psutil.Process(pid)
            out.append(sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20)
        except psutil.Error:
            out.append(0.0)
    return out


async def sample_rss(pids, stop: asyncio.Event, every_s: float = 0.25) -> list[float]:
    """Peak RSS of each process over the interval, in MB."""
    peak = [0.0] * len(pids)
    while not stop.is_set():
        peak = [max(a, b) for a, b in zip(peak, rss_mb(pids), strict=True)]
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass
    return peak


_LAG = re.compile(r'^kafka_consumergroup_group_lag\{[^}]*\} ([0-9.e+]+)$', re.M)


async def consumer_lag(http: httpx.AsyncClient) -> float | None:
    """The worker's consumer-lag metric (kafka-lag-exporter's name), summed over partitions."""
    try:
        body = (await http.get("/metrics", timeout=5)).text
    except httpx.HTTPError:
        return None
    values = [float(v) for v in _LAG.findall(body)]
    return sum(values) if values else None


async def sample_catch_up(http: httpx.AsyncClient, pids, applied, stop: asyncio.Event,
                          every_s: float = 2.0) -> list[dict]:
    """Every `every_s`: seconds since start, the lag metric, events applied (PostgreSQL's
    positions) and each worker's RSS."""
    samples, started = [], time.perf_counter()
    while not stop.is_set():
        samples.append({"t_s": round(time.perf_counter() - started, 1), "lag_records": await consumer_lag(http),
                        "applied_records": await applied(), "rss_mb": [round(x) for x in rss_mb(pids)]})
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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


def pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


async def group_settled(bootstrap: str, group: str, members: int, timeout_s: float = 60.0) -> float:
    """Wait until Kafka says the consumer group is Stable with `members` members: the
    workers' final assignment of the run. Workers started together still join one after the
    other, and the first owns every partition until the others' rebalance (~3-5 s, most
    of a 500,000-event run with 2 workers), which is start-up, not throughput. Returns the
    seconds waited."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout_s:
            try:
                responses = await admin.describe_consumer_groups([group])
            except KafkaError:  # a fresh broker has no coordinator until its offsets topic exists
                responses = []
            for response in responses:
                for described in response.to_object()["groups"]:
                    if described["state"] == "Stable" and len(described["members"]) == members:
                        return time.perf_counter() - started
            await asyncio.sleep(0.05)
        raise TimeoutError(f"group {group} not stable with {members} members after {timeout_s} s")
    finally:
        await admin.close()


async def stream_eps(settings, group: str, topic: str, events: int, records: int, poll_s: float = 0.05,
                     members: int = 1, on_start=lambda: None) -> tuple[float, float, int]:
    """From the workers' group settling (group_settled; `on_start` is called then) to every
    record's position committed, read from PostgreSQL's positions (the truth for any
    number of workers). Records are PACK events each, so the events applied in between are
    the records still to apply then x PACK; what was applied while the group formed is
    left out. Returns (events/s, seconds, events applied in the interval)."""
    from meterline.bootstrap import pg_engine
    from warehouse.postgres.usage import list_positions

    engine = pg_engine(settings)

    async def applied() -> int:
        async with engine.connect() as conn:
            return sum(r.next_offset for r in await list_positions(conn, group) if r.topic == topic)

    try:
        settling = await group_settled(settings.kafka_bootstrap, group, members)
        on_start()
        already = await applied()
        if settling > 1:
            print(f"  (the group of {members} settled after {settling:.1f} s; {already * PACK:,} events applied "
                  "meanwhile are left out)", flush=True)
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
