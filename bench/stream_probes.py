"""What bench/stream.py samples while workers run: PostgreSQL lock waits, worker memory,
consumer lag. Each sampler is an asyncio task that stops when told."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

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


_TABLES = ("stream_position", "processed_event", "usage_minute", "usage_", "meter", "duplicate", "dead_letter")


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
