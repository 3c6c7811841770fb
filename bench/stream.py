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
3. each round, runs the floor pipeline over it (bench/stream_floor.py), into tables of its
   own, then the designs below: decode, (tenant, id) into one
   unique index by COPY + ON CONFLICT DO NOTHING per batch, raw rows bulk-inserted into
   ClickHouse; events/s and CPU µs per event of this process, PostgreSQL, the chDB host, Kafka;
4. --rounds rounds of 2 then 1 stream workers (with --old-code DIR, first 1 and 2 workers
   of that checkout, e.g. `git archive main`, over the same events keyed tenant:subject
   as it keyed them), each from empty tenant tables on a fresh consumer group: events/s
   (the group stable with all its workers -> every position committed; what was applied
   while it formed is left out), CPU µs per event per process, lock waits sampled
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
import statistics
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stream_load import raw_consumer_eps, seed_tenants  # noqa: E402 - after the path
from bench.stream_probes import CpuMeter, percentile, stream_eps, usage_query_ms, visibility  # noqa: E402
from bench.stream_runner import WEB_PORT, Bench, design_summary  # noqa: E402


def interleaved(bench: Bench, args) -> dict:
    """Rounds of the floor and every design (1 and 2 workers of this code; with --old-code,
    1 and 2 workers of that checkout over records keyed as it keys them), interleaved: the
    floor spreads between runs as much as the stream does, so each round has its own."""
    print(f"seeding {args.tenants} tenants x {args.meters} meters ...", flush=True)
    tenant_ids = asyncio.run(seed_tenants(bench.settings, bench.run, args.tenants, args.meters))
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
    runs, floors, kept = [], [], None
    for round_ in range(args.rounds):
        floors.append(bench.floor_run(topic, args.events, round_))
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
    summaries = {label: design_summary(runs, label) for label, *_ in designs}
    two_label = "new-2w" if "new-2w" in summaries else "new-1w"
    one, two = summaries["new-1w"], summaries.get("new-2w", summaries["new-1w"])
    ones, twos = ([r["eps"] for r in runs if r["label"] == label] for label in ("new-1w", two_label))
    pairs = [b / a for a, b in zip(ones, twos, strict=True)]
    floor_eps = round(statistics.fmean(f["eps"] for f in floors))
    floor_cpu = {k: round(statistics.fmean(f["cpu_us_per_event"][k] for f in floors), 1)
                 for k in floors[0]["cpu_us_per_event"]}
    return {"events": args.events, "times": args.times, "rounds": args.rounds, "raw_consumer_eps": round(raw),
            "floor_eps": floor_eps, "floor_eps_per_round": [f["eps"] for f in floors],
            "stream_eps": one["eps_mean"], "ratio": round(one["eps_mean"] / floor_eps, 3),
            "ratio_per_round": [round(o / f["eps"], 3) for o, f in zip(ones, floors, strict=True)],
            # The stream as this machine would run it: a worker per core.
            "stream_2w_eps": two["eps_mean"], "ratio_2w": round(two["eps_mean"] / floor_eps, 3),
            "ratio_2w_per_round": [round(t / f["eps"], 3) for t, f in zip(twos, floors, strict=True)],
            "workers_2_vs_1": round(two["eps_mean"] / one["eps_mean"], 3),
            "workers_2_vs_1_per_round": [round(x, 3) for x in pairs],
            "lock_waits": {label: s["lock_wait_samples"] for label, s in summaries.items()},
            # This code's workers: the old design's figure is in "designs".
            "peak_rss_mb": max(s["peak_rss_mb"] for label, s in summaries.items() if label.startswith("new")),
            **result,
            "cpu_us_per_event": {"floor": floor_cpu,
                                 **{label: s["cpu_us_per_event"] for label, s in summaries.items()}},
            "designs": {label: {k: v for k, v in s.items() if k != "cpu_us_per_event"} for label, s in summaries.items()},
            "load_average": [round(x, 2) for x in os.getloadavg()]}


async def _kept_worker_figures(bench: Bench, args, topic: str, tenant_ids) -> dict:
    """Visibility and the month query through the last run's worker (kept running)."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{WEB_PORT}", timeout=60) as http:
        delays = await visibility(bench.settings, topic, http, tenant_ids[0], args.rate, args.visibility_seconds,
                                  tenant_ids[1:], aligned=True)
        print(f"visible after Kafka ack at {args.rate:,} events/s, hour-aligned query (committed windows): "
              f"p50 {statistics.median(delays):.3f} s, p99 {percentile(delays, 0.99):.3f} s ({len(delays)} probes)",
              flush=True)
        timings = await usage_query_ms(http, tenant_ids[1], 200)
        print(f"month usage query through the worker, from PostgreSQL's committed hour windows: "
              f"p50 {statistics.median(timings):.1f} ms, p99 {percentile(timings, 0.99):.1f} ms", flush=True)
        ch_timings = await usage_query_ms(http, tenant_ids[1], 100, source="clickhouse")
        print(f"the same query from the ClickHouse hour rollups: p50 {statistics.median(ch_timings):.1f} ms, "
              f"p99 {percentile(ch_timings, 0.99):.1f} ms", flush=True)
    return {"visible_p50_s": round(statistics.median(delays), 3), "visible_p99_s": round(percentile(delays, 0.99), 3),
            "usage_query_p50_ms": round(statistics.median(timings), 1),
            "usage_query_p99_ms": round(percentile(timings, 0.99), 1),
            "clickhouse_rollup_query_p99_ms": round(percentile(ch_timings, 0.99), 1)}


def catch_up(bench: Bench, args) -> dict:
    """One catch-up over a backlog of --catch-up events (times as recorded): events/s, each
    worker's RSS and the consumer-lag metric sampled every 2 s."""
    from bench.stream_probes import sample_catch_up, sample_rss
    from meterline.bootstrap import pg_engine
    from warehouse.postgres.usage import list_positions

    tenant_ids = asyncio.run(seed_tenants(bench.settings, bench.run, args.tenants, args.meters))
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
            before = {}
            try:
                eps, elapsed, counted = await stream_eps(bench.settings, group, topic, args.catch_up, records, 0.5,
                                                         members=args.workers,
                                                         on_start=lambda: before.update(cpu.snapshot()))
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
