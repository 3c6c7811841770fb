"""One bench/stream.py run's infrastructure (Kafka, PostgreSQL, the chDB host under .run/bench),
tenants and topics, and how to run stream workers over them and summarize each design."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import httpx

from bench.stream_load import pack_records, produce, reset_counts
from bench.stream_probes import CpuMeter, OwnCpu, pid_file, stream_eps

ROOT = Path(__file__).resolve().parent.parent

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


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


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
        self.services = {"clickhouse_host": pid_file(run_dir / "clickhouse-host" / "clickhouse-host.pid"),
                         "postgres": pid_file(run_dir / "postgres" / "data" / "postmaster.pid"),
                         "kafka": pid_file(run_dir / "kafka" / "kafka.pid")}
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
        records = asyncio.run(produce(self.settings.kafka_bootstrap, topic, pack_records(
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

        asyncio.run(reset_counts(self.dsn, tenant_ids))
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
            before = {}
            try:
                eps, elapsed, counted = await stream_eps(self.settings, group, topic, events, records,
                                                         members=count, on_start=lambda: before.update(cpu.snapshot()))
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

    def floor_run(self, topic: str, events: int, round_: int = 0) -> dict:
        """The floor pipeline over `topic`, into tables of its own for this round (a second
        pass into the same tables would find every id taken and cost less)."""
        from bench.stream_floor import floor_pipeline
        from warehouse.clickhouse.client import open_clickhouse

        clickhouse = open_clickhouse(self.settings.clickhouse)
        cpu = CpuMeter(self.services)
        own = OwnCpu()
        before = {**own.snapshot(), **cpu.snapshot()}
        eps, seen = asyncio.run(floor_pipeline(self.settings.kafka_bootstrap, topic, events, self.dsn, clickhouse,
                                               self.settings.clickhouse.database, f"{self.run}_{round_}"))
        after = {**own.snapshot(), **cpu.snapshot()}
        cpu_us = {name: round((after[name] - before[name]) / seen * 1e6, 1) for name in before}
        cpu_us["all"] = round(sum(cpu_us.values()), 1)
        print(f"[floor] {eps:,.0f} events/s ({seen:,} events); CPU µs/event "
              + ", ".join(f"{k} {v}" for k, v in cpu_us.items()), flush=True)
        return {"eps": round(eps), "cpu_us_per_event": cpu_us, "load_average": round(os.getloadavg()[0], 2)}


def design_summary(runs: list[dict], label: str) -> dict:
    mine = [r for r in runs if r["label"] == label]
    keys = set().union(*(r["cpu_us_per_event"] for r in mine)) if mine else set()
    return {"eps": [r["eps"] for r in mine], "eps_mean": _mean([r["eps"] for r in mine]),
            "cpu_us_per_event": {k: _mean([r["cpu_us_per_event"].get(k, 0) for r in mine]) for k in sorted(keys)},
            "lock_wait_samples": sum(r["lock_waits"]["samples_with_waits"] for r in mine),
            "peak_rss_mb": max((max(r["peak_rss_mb"]) for r in mine), default=None)}
