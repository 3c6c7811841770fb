"""Rollups and every meter kind against real Kafka, PostgreSQL and chDB.

Expected numbers are computed here from what was sent, with plain Python (not
metering), and compared with the rollups, the raw-event path and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from meterline.bootstrap import pg_engine
from metering import Meter
from tests.support.tenants import create_tenant
from warehouse.postgres.meters import get_meter, insert_meter
from warehouse.postgres.usage import usage_windows

pytestmark = pytest.mark.integration

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
HOUR = NOW.replace(minute=0)
DAY = HOUR.replace(hour=0)


def _pack(tenant_id: uuid.UUID, events: list[dict]) -> bytes:
    return orjson.dumps({"tenant_id": str(tenant_id), "received_at": NOW.isoformat(), "events": [
        {"source": "test", "subject": "s", **e} for e in events]})


async def _produce(settings, tenant_id: uuid.UUID, events: list[dict], per_record: int = 50) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sends = [await producer.send(settings.kafka.events_topic, value=_pack(tenant_id, events[i:i + per_record]),
                                     key=f"{tenant_id}:{i % 3}".encode())
                 for i in range(0, len(events), per_record)]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def _usage(settings, tenant_id, slug: str, start: datetime, end: datetime, window: str = "hour",
                 raw: bool = False, source: str = "clickhouse") -> dict:
    params = {"tenant_id": str(tenant_id), "slug": slug, "start": start.isoformat(), "end": end.isoformat(),
              "window": window, "source": source}
    if raw:
        params["raw"] = "1"
    async with httpx.AsyncClient(base_url=settings.stream_web_url, timeout=30) as http:
        response = await http.get("/internal/usage", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _wait_events(settings, tenant_id, slug, start, end, expected: int, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        body = await _usage(settings, tenant_id, slug, start, end, raw=True)
        if body["total_events"] >= expected or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.3)


def _points(body: dict) -> dict:
    return {(datetime.fromisoformat(p["window_start"]), tuple(sorted(p["group"].items()))):
            (Decimal(p["quantity"]), p["event_count"]) for p in body["points"]}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_every_aggregation_by_group_from_rollups_equals_what_was_sent(stream_worker, unique_slug):
    settings = stream_worker
    tenant = await create_tenant(settings, unique_slug, [("calls", "llm", "COUNT", None)])
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            for slug, aggregation, path, groups in (
                    ("tokens", "SUM", "tokens", ("region", "model")), ("peak", "MAX", "tokens", ("region",)),
                    ("gauge", "LATEST", "tokens", ()), ("users", "UNIQUE_COUNT", "user", ("region",))):
                await insert_meter(conn, Meter(tenant.id, slug, "llm", aggregation, path, groups))
    finally:
        await engine.dispose()

    rng = random.Random(11)
    sent: dict[str, dict] = {}
    for i in range(1500):
        at = HOUR - timedelta(days=2) + timedelta(seconds=rng.randint(0, 3 * 86400 - 1))
        at = min(at, NOW)  # nothing in the future
        sent[f"e{i}"] = {"id": f"e{i}", "type": "llm", "time": _iso(at), "data": {
            "tokens": rng.randint(1, 5000) / 100, "user": f"u{rng.randint(1, 60)}",
            "region": rng.choice(["eu", "us", "ap"]), "model": rng.choice(["small", "large"])}}
    events = list(sent.values())
    first, late = events[:1200], events[1200:]
    duplicates = rng.sample(first, 150)  # exact copies, in later records
    await _produce(settings, tenant.id, first + duplicates)
    start, end = DAY - timedelta(days=3), DAY + timedelta(days=1)
    await _wait_events(settings, tenant.id, "calls", start, end, len(first))
    # Late events land in windows already written; then copies of them again.
    await _produce(settings, tenant.id, late + rng.sample(late, 40))
    assert (await _wait_events(settings, tenant.id, "calls", start, end, len(sent)))["total_events"] == len(sent)
    await asyncio.sleep(1.0)  # any (wrong) extra copy would land now

    # The independent count.
    def hour_of(e):
        return datetime.fromisoformat(e["time"].replace("Z", "+00:00")).replace(minute=0, second=0)

    def day_of(e):
        return datetime.fromisoformat(e["time"].replace("Z", "+00:00")).replace(hour=0, minute=0, second=0)

    def expect(window_of, key_of, value_of):
        out = defaultdict(list)
        for e in events:
            out[(window_of(e), key_of(e))].append((e, value_of(e)))
        return out

    tokens = lambda e: Decimal(str(e["data"]["tokens"]))  # noqa: E731
    calls_h = {k: (Decimal(len(v)), len(v)) for k, v in expect(hour_of, lambda e: (), tokens).items()}
    tokens_d = {k: (sum(x for _, x in v), len(v)) for k, v in expect(
        day_of, lambda e: (("model", e["data"]["model"]), ("region", e["data"]["region"])), tokens).items()}
    peak_h = {k: (max(x for _, x in v), len(v)) for k, v in expect(
        hour_of, lambda e: (("region", e["data"]["region"]),), tokens).items()}
    gauge_h = {k: (max(v, key=lambda ev: (ev[0]["time"], ev[0]["id"]))[1], len(v))
               for k, v in expect(hour_of, lambda e: (), tokens).items()}
    users_d = {k: (Decimal(len({e["data"]["user"] for e, _ in v})), len(v)) for k, v in expect(
        day_of, lambda e: (("region", e["data"]["region"]),), tokens).items()}

    cases = [("calls", "hour", calls_h, Decimal(len(events))),
             ("tokens", "day", tokens_d, sum((tokens(e) for e in events), Decimal(0))),
             ("peak", "hour", peak_h, max(tokens(e) for e in events)),
             ("gauge", "hour", gauge_h, tokens(max(events, key=lambda e: (e["time"], e["id"])))),
             ("users", "day", users_d, Decimal(len({e["data"]["user"] for e in events})))]
    for slug, window, expected, total in cases:
        rolled = await _usage(settings, tenant.id, slug, start, end, window)
        raw = await _usage(settings, tenant.id, slug, start, end, window, raw=True)
        assert rolled["read_from"] == f"rollup:{window}", slug
        assert raw["read_from"] == "raw"
        assert _points(rolled) == expected, slug
        assert _points(raw) == expected, slug
        assert (Decimal(rolled["total_quantity"]), rolled["total_events"]) == (total, len(events)), slug
        assert (Decimal(raw["total_quantity"]), raw["total_events"]) == (total, len(events)), slug
        # The worker's default: PostgreSQL's committed windows, the same points and totals
        # (UNIQUE_COUNT stays with ClickHouse, whose states hold the distinct values).
        committed = await _usage(settings, tenant.id, slug, start, end, window, source="postgres")
        assert committed["read_from"] == ("rollup:day" if slug == "users" else f"postgres:{window}"), slug
        fields = ("points", "total_quantity", "total_events")
        assert [committed[f] for f in fields] == [rolled[f] for f in fields], slug

    # Days from hour rollups when the range is not day-aligned; minutes from raw events
    # (not stored: metering.STORED_RESOLUTIONS), adding up to the hour rollups.
    hours = await _usage(settings, tenant.id, "tokens", start + timedelta(hours=1), end, "day")
    assert hours["read_from"] == "rollup:hour"
    assert _points(hours) == _points(await _usage(settings, tenant.id, "tokens", start + timedelta(hours=1), end,
                                                  "day", raw=True))
    minutes = await _usage(settings, tenant.id, "tokens", HOUR - timedelta(hours=3), HOUR, "minute")
    assert minutes["read_from"] == "raw"
    recent = [e for e in events if HOUR - timedelta(hours=3) <= datetime.fromisoformat(e["time"]) < HOUR]
    tokens_m = {k: (sum(x for _, x in v), len(v)) for k, v in expect(
        lambda e: datetime.fromisoformat(e["time"]).replace(second=0, microsecond=0),
        lambda e: (("model", e["data"]["model"]), ("region", e["data"]["region"])), tokens).items()
        if HOUR - timedelta(hours=3) <= k[0] < HOUR}
    assert recent and _points(minutes) == tokens_m
    by_hour = await _usage(settings, tenant.id, "tokens", HOUR - timedelta(hours=3), HOUR, "hour")
    assert by_hour["read_from"] == "rollup:hour"
    assert (minutes["total_quantity"], minutes["total_events"]) == (by_hour["total_quantity"],
                                                                    by_hour["total_events"])

    # PostgreSQL, the billing store, holds the same hourly windows for additive and MAX meters.
    engine = pg_engine(settings)
    try:
        async with engine.connect() as conn:
            pg_peak = await usage_windows(conn, tenant.id, "peak", start, end, "hour")
            pg_tokens = await usage_windows(conn, tenant.id, "tokens", start, end, "day")
    finally:
        await engine.dispose()
    assert {(r.window_start, tuple(sorted(orjson.loads(r.group_key).items()))): (r.quantity, r.event_count)
            for r in pg_peak} == peak_h
    assert {(r.window_start, tuple(sorted(orjson.loads(r.group_key).items()))): (r.quantity, r.event_count)
            for r in pg_tokens} == tokens_d


async def test_meter_created_after_its_events_counts_them(stream_worker, unique_slug):
    settings = stream_worker
    # A meter of another type puts the tenant in the worker's cache before "llm" has one.
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None)])
    rng = random.Random(5)
    before = [{"id": f"b{i}", "type": "llm", "time": _iso(HOUR - timedelta(hours=rng.randint(2, 30), minutes=i % 60)),
               "data": {"tokens": rng.randint(1, 100)}} for i in range(300)]
    await _produce(settings, tenant.id, before)
    async with httpx.AsyncClient(base_url=settings.stream_web_url, timeout=30) as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            totals = (await http.get("/internal/event-totals", params={"tenant_id": str(tenant.id)})).json()["totals"]
            if totals.get("llm", 0) >= len(before):
                break
            await asyncio.sleep(0.3)
    assert totals == {"llm": len(before)}

    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            await insert_meter(conn, Meter(tenant.id, "tokens", "llm", "SUM", "tokens"))
        # The worker picks the meter up at its next refresh, before the next batch after it.
        await asyncio.sleep(settings.stream.meter_refresh_s + 0.5)
        after = [{"id": f"a{i}", "type": "llm", "time": _iso(HOUR + timedelta(seconds=i)),
                  "data": {"tokens": rng.randint(1, 100)}} for i in range(200)]
        await _produce(settings, tenant.id, after + before[:20])  # copies of old events stay duplicates
        start, end = DAY - timedelta(days=2), DAY + timedelta(days=1)
        body = await _wait_events(settings, tenant.id, "tokens", start, end, len(before) + len(after))
        async with engine.connect() as conn:
            meter = await get_meter(conn, tenant.id, "tokens")
    finally:
        await engine.dispose()

    total = sum(Decimal(e["data"]["tokens"]) for e in before + after)
    # The range starts before the meter was applied: raw events answer, and count everything.
    body = await _usage(settings, tenant.id, "tokens", start, end)
    assert body["read_from"] == "raw"
    assert (Decimal(body["total_quantity"]), body["total_events"]) == (total, len(before) + len(after))
    # The worker recorded where its rollups are complete: after the latest event it had
    # processed without the meter.
    latest_before = max(datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in before)
    assert meter.rollup_from == latest_before + timedelta(microseconds=1)
    # From the next hour on, rollups answer, and hold exactly the later events.
    covered = latest_before.replace(minute=0, second=0) + timedelta(hours=1)
    rolled = await _usage(settings, tenant.id, "tokens", covered, end)
    assert rolled["read_from"] == "rollup:hour"
    expected = [e for e in before + after if datetime.fromisoformat(e["time"].replace("Z", "+00:00")) >= covered]
    assert (Decimal(rolled["total_quantity"]), rolled["total_events"]) == (
        sum(Decimal(e["data"]["tokens"]) for e in expected), len(expected))


async def test_rollup_from_with_several_workers_is_the_last_workers_instant(stack, unique_slug):
    """Each worker starts applying a new meter at its own refresh; the rollups are complete
    only after the last one's instant, whichever order they refresh in (real PostgreSQL;
    each worker's view of the raw table is given as its latest event time)."""
    from stream.meters import MeterCache

    tenant = await create_tenant(stack, unique_slug, [("calls", "api.call", "COUNT", None)])
    engine = pg_engine(stack)
    base = datetime(2026, 11, 1, tzinfo=timezone.utc)
    seen = {"a": base + timedelta(minutes=5), "b": base + timedelta(minutes=9)}

    def latest_seen_by(worker: str):
        async def latest(pairs):
            return {pair: seen[worker] for pair in pairs}
        return latest

    a, b = (MeterCache(engine, 0.0, latest_seen_by(w)) for w in ("a", "b"))
    try:
        await a.refresh()
        await b.refresh()  # both running and processing before the meter exists
        async with engine.begin() as conn:
            await insert_meter(conn, Meter(tenant.id, "tokens", "llm", "SUM", "tokens"))

        async def rollup_from() -> datetime:
            async with engine.connect() as conn:
                return (await get_meter(conn, tenant.id, "tokens")).rollup_from

        await b.refresh()  # the later instant first
        assert await rollup_from() == seen["b"] + timedelta(microseconds=1)
        await a.refresh()  # an earlier instant never moves it back
        assert await rollup_from() == seen["b"] + timedelta(microseconds=1)
        applied = {(m.tenant_id, m.slug): m.rollup_from for m in await a.current()}  # every tenant's meters
        assert applied[tenant.id, "tokens"] == seen["b"] + timedelta(microseconds=1)
        seen["a"] = base + timedelta(minutes=30)
        await a.refresh()  # already applied by this worker: not marked again
        assert await rollup_from() == seen["b"] + timedelta(microseconds=1)
        # A worker started now processed nothing without the meter: it leaves it alone.
        await MeterCache(engine, 0.0, latest_seen_by("a")).refresh()
        assert await rollup_from() == seen["b"] + timedelta(microseconds=1)
    finally:
        await engine.dispose()
