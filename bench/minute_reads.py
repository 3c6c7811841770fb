"""Per-minute usage reads: raw events (how minutes are read since tenant_0900) against the
minute rollups the stream kept before, on one chDB host, alternately; not a test.

One tenant's meter (SUM) with `--events-per-day` events over 7 days is written straight into
ClickHouse's `events`, and its minute rollup rows as the stream used to write them
(absolute values per minute). Each query is then timed through the readers' own query
builders and row parsers (warehouse/clickhouse/queries.py, fine_usage.py): per-minute
windows over the last hour, day and 7 days (the API's limit), and 7 Asia/Kolkata days per
day (a half-hour zone's days: from minute rollups before, now from hour rollups plus the
hours the days' edges cut, read from raw events; all raw minutes shown too).

Run: .venv/bin/python bench/minute_reads.py [--events-per-day 500000] [--repeats 15]
The chDB host runs under .run/bench-minutes (stop: METERLINE_RUN_DIR=.run/bench-minutes meterline infra down).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("METERLINE_RUN_DIR", str(ROOT / ".run" / "bench-minutes"))

from meterline.settings import Settings  # noqa: E402
from metering import Meter  # noqa: E402
from metering.zone_windows import aligned_resolution, zone_windows  # noqa: E402
from warehouse.clickhouse.fine_usage import FineUsageReader, _points, fine_usage_query  # noqa: E402
from warehouse.clickhouse.queries import parse_usage_rows, usage_query  # noqa: E402

TENANT = uuid.UUID(int=0x6d696e75746573)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def seed(client, database: str, per_day: int, now: datetime) -> None:
    """7 days of events ending at `now`, evenly spaced, and their minute rollup rows."""
    client.command(f"ALTER TABLE {database}.events DELETE WHERE tenant_id = '{TENANT}' SETTINGS mutations_sync = 2")
    client.command(f"ALTER TABLE {database}.usage_rollup DELETE WHERE tenant_id = '{TENANT}' "
                   "SETTINGS mutations_sync = 2")
    total, step_us = per_day * 7, int(86_400_000_000 / per_day)
    end = now.strftime("%Y-%m-%d %H:%M:%S")
    client.command(
        f"INSERT INTO {database}.events (tenant_id, type, time, id, source, subject, data, received_at) "
        f"SELECT '{TENANT}', 'api.call', "
        f"toDateTime64('{end}', 6, 'UTC') - toIntervalMicrosecond((number + 1) * {step_us}), "
        "concat('e', toString(number)), 'bench', concat('c', toString(number % 50)), "
        "concat('{\"tokens\": ', toString(number % 100), '}'), now64(3) "
        f"FROM numbers({total})")
    for resolution, truncate in (("minute", "toStartOfMinute"), ("hour", "toStartOfHour")):
        client.command(  # absolute values per window, as the stream wrote (minutes) and writes (hours) them
            f"INSERT INTO {database}.usage_rollup (tenant_id, meter_slug, resolution, window_start, group_key, "
            "aggregation, quantity, event_count, latest_at, latest_id, revision) "
            f"SELECT tenant_id, 'tokens', '{resolution}', {truncate}(time), '{{}}', 'SUM', "
            "sum(toDecimal128(JSONExtractRaw(data, 'tokens'), 9)), count(), toDateTime64(0, 6, 'UTC'), '', 1 "
            f"FROM {database}.events WHERE tenant_id = '{TENANT}' GROUP BY tenant_id, {truncate}(time)")


def _summary(times: dict[str, list[float]]) -> dict:
    return {k: {"p50_ms": round(statistics.median(v), 1), "max_ms": round(max(v), 1)} for k, v in times.items()}


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-day", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    from infra.stack import infra_up
    from warehouse.clickhouse.client import open_clickhouse

    settings = Settings()
    infra_up(settings, only={"clickhouse"})
    client = open_clickhouse(settings.clickhouse)
    database = settings.clickhouse.database
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    started = time.perf_counter()
    seed(client, database, args.events_per_day, now)
    print(f"seeded {args.events_per_day * 7:,} events over 7 days and their minute rollups "
          f"in {time.perf_counter() - started:.1f} s")

    meter = Meter(TENANT, "tokens", "api.call", "SUM", "tokens", (), EPOCH)

    def minutes(span: timedelta, resolution: str | None):
        parameters = {"tenant": str(TENANT), "type": meter.event_type, "slug": meter.slug,
                      "resolution": resolution or "", "start": now - span, "end": now}
        rows = client.query(usage_query(database, meter, resolution, "minute"), parameters=parameters).result_rows
        return parse_usage_rows(meter, rows)

    kolkata = ZoneInfo("Asia/Kolkata")
    local_end = now.astimezone(kolkata).replace(hour=0, minute=0)
    edges = zone_windows(local_end - timedelta(days=7), local_end, "day", kolkata)
    assert aligned_resolution(edges, "day") == "minute"

    reader = FineUsageReader(client, database)

    def kolkata_days(design: str):
        if design == "hour rollups + cut hours":  # this checkout's reader
            points, read_from = reader._fine_sync(meter, edges, "minute", False)
            assert read_from == "rollup:hour+raw:minute", read_from
            return points
        parameters = {"tenant": str(TENANT), "type": meter.event_type, "slug": meter.slug, "resolution": "minute",
                      "start": edges[0], "end": edges[-1]}
        rows = client.query(fine_usage_query(database, meter, "minute", design == "minute rollups", False),
                            parameters=parameters).result_rows
        return _points(meter, rows, False)

    def by_day(points) -> list:
        return [sum((p.quantity for p in points if edges[i] <= p.window_start < edges[i + 1]), Decimal(0))
                for i in range(len(edges) - 1)]

    cases = {"minutes, last hour": timedelta(hours=1), "minutes, last day": timedelta(days=1),
             "minutes, last 7 days": timedelta(days=7)}
    figures = {}
    for name, span in cases.items():
        raw_points, rollup_points = minutes(span, None), minutes(span, "minute")
        assert [(p.window_start, p.quantity, p.event_count) for p in raw_points] == \
            [(p.window_start, p.quantity, p.event_count) for p in rollup_points], name
        times = {"raw minutes": [], "minute rollups": []}
        for _ in range(args.repeats):
            times["raw minutes"].append(_timed(lambda: minutes(span, None)))
            times["minute rollups"].append(_timed(lambda: minutes(span, "minute")))
        figures[name] = _summary(times)
        figures[name]["points"] = len(raw_points)
    designs = ("minute rollups", "raw minutes", "hour rollups + cut hours")
    days = {design: by_day(kolkata_days(design)) for design in designs}
    assert days["raw minutes"] == days["minute rollups"] == days["hour rollups + cut hours"], days
    times = {design: [] for design in designs}
    for _ in range(args.repeats):
        for design in designs:
            times[design].append(_timed(lambda: kolkata_days(design)))
    figures["Asia/Kolkata, 7 days per day"] = _summary(times)

    for name, f in figures.items():
        print(f"{name}: " + ", ".join(f"{design} p50 {t['p50_ms']} ms (max {t['max_ms']})"
                                      for design, t in f.items() if isinstance(t, dict)))
    print(json.dumps({"events_per_day": args.events_per_day, "repeats": args.repeats, "figures": figures}))


if __name__ == "__main__":
    main()
