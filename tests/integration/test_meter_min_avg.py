"""MIN and AVG meters end to end, against an independent computation over the events sent.

Real Kafka, PostgreSQL, chDB host, stream worker, API, Prefect and localstripe. The
meters are created through the admin API; every read path must give the numbers this
test computes with plain Decimal arithmetic from what it sent (not with metering): the
admin API's ClickHouse usage at each resolution and its PostgreSQL hourly usage, the
worker's committed windows and rollups and raw events, the hourly rows billing rates
and the limit check's totals. Then late events into an invoiced period restate it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from billing_jobs.plans import Plan
from billing_jobs.usage_totals import meter_totals
from flows.invoicing import generate_invoices
from meterline.bootstrap import pg_engine, pg_sync_engine
from tests.integration.test_late_restatements import (
    AFTER_NEXT, DAY as INVOICED_DAY, INVOICED, NEXT, after, correction_lines, invoice_of, invoiced_totals, period,
    produce, restatements, wait_for,
)
from tests.support.tenants import create_tenant
from warehouse.postgres.billing_limits import PgLimitStore
from warehouse.postgres.billing_usage import hourly_usage
from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription

pytestmark = pytest.mark.integration

D = Decimal
HOUR = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
DAY = HOUR.replace(hour=0)
STEPS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _at(event: dict) -> datetime:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00"))


def _floor(moment: datetime, step: timedelta) -> datetime:
    return datetime.fromtimestamp(moment.timestamp() // step.total_seconds() * step.total_seconds(), timezone.utc)


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, D(0)) / len(values)


def _expected(events: list[dict], step: timedelta, grouped: bool, reduce) -> dict:
    """Per (window, group): (the reduced value, events), from the events themselves."""
    windows: dict[tuple, list[Decimal]] = defaultdict(list)
    for event in events:
        group = (("region", event["data"]["region"]),) if grouped else ()
        windows[_floor(_at(event), step), group].append(D(str(event["data"]["v"])))
    return {key: (reduce(values), len(values)) for key, values in windows.items()}


def _points(body: dict) -> dict:
    return {(datetime.fromisoformat(p["window_start"].replace("Z", "+00:00")), tuple(sorted(p["group"].items()))):
            (D(p["quantity"]), p["event_count"]) for p in body["points"]}


async def _produce(settings, tenant_id: str, events: list[dict], per_record: int = 40) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sends = [await producer.send(settings.kafka.events_topic,
                                     value=orjson.dumps({"tenant_id": tenant_id, "received_at": HOUR.isoformat(),
                                                         "events": events[i:i + per_record]}),
                                     key=f"{tenant_id}:{i % 3}".encode())
                 for i in range(0, len(events), per_record)]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


# (meter, aggregation, grouped by region, the independent rule)
METERS = [("low", "MIN", True, min), ("mean", "AVG", False, _mean)]


async def test_min_and_avg_in_every_read_path(stream_worker, api_service, unique_slug):
    settings = api_service
    api = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.api.port}", timeout=30)
    worker = httpx.AsyncClient(base_url=settings.stream_web_url, timeout=30)
    try:
        registered = await api.post("/v1/tenants", json={"slug": unique_slug, "name": unique_slug,
                                                        "owner_email": f"owner@{unique_slug}.example",
                                                        "owner_password": "correct horse battery"})
        assert registered.status_code == 201, registered.text
        body = registered.json()
        tenant_id = body["tenant"]["id"]
        auth = {"Authorization": f"Bearer {body['access_token']['access_token']}"}
        for slug, aggregation, grouped, _ in METERS:
            created = await api.post("/v1/meters", headers=auth, json={
                "slug": slug, "event_type": "gauge", "aggregation": aggregation, "value_path": "v",
                "group_by": ["region"] if grouped else []})
            assert created.status_code == 201, created.text
            assert created.json()["aggregation"] == aggregation

        rng = random.Random(23)
        sent = [{"id": f"g{i}", "type": "gauge", "subject": "s",
                 "time": _iso(HOUR - timedelta(hours=rng.randint(0, 40), minutes=rng.randint(0, 59))),
                 "data": {"v": rng.randint(-500, 10000) / 100, "region": rng.choice(["eu", "us"])}}
                for i in range(400)]
        # Copies are counted once; a value that is not a number is dead-lettered, not averaged.
        await _produce(settings, tenant_id, sent + sent[:50] + [
            {"id": "bad", "type": "gauge", "subject": "s", "time": _iso(HOUR), "data": {"v": "n/a", "region": "eu"}}])
        start, end = DAY - timedelta(days=2), DAY + timedelta(days=1)
        deadline = time.monotonic() + 90
        while True:
            hourly = {slug: (await api.get("/v1/usage/hourly", headers=auth,
                                           params={"meter": slug, "from": start.isoformat(), "to": end.isoformat()})
                             ).json() for slug, *_ in METERS}
            if all(h.get("total_events", 0) >= len(sent) for h in hourly.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)

        values = [D(str(e["data"]["v"])) for e in sent]
        totals = {"low": min(values), "mean": _mean(values)}
        for slug, aggregation, grouped, reduce in METERS:
            span = {"meter": slug, "from": start.isoformat(), "to": end.isoformat()}
            assert _points(hourly[slug]) == _expected(sent, STEPS["hour"], grouped, reduce), slug
            assert (D(hourly[slug]["total_quantity"]), hourly[slug]["total_events"]) == (totals[slug], len(sent))
            for window, step in STEPS.items():
                expected = _expected(sent, step, grouped, reduce)
                answer = await api.get("/v1/usage", headers=auth, params={**span, "window": window})
                assert answer.status_code == 200, answer.text
                assert answer.json()["aggregation"] == aggregation
                assert _points(answer.json()) == expected, (slug, window)
                assert (D(answer.json()["total_quantity"]), answer.json()["total_events"]) == (
                    totals[slug], len(sent)), (slug, window)
                for source, raw in (("postgres", False), ("clickhouse", False), ("clickhouse", True)):
                    params = {"tenant_id": tenant_id, "slug": slug, "start": start.isoformat(),
                              "end": end.isoformat(), "window": window, "source": source}
                    committed = (await worker.get("/internal/usage", params={**params, **({"raw": "1"} if raw else {})}
                                                  )).json()
                    where = (slug, window, source, committed["read_from"])
                    assert _points(committed) == expected, where
                    assert (D(committed["total_quantity"]), committed["total_events"]) == (totals[slug], len(sent)), \
                        where

        # Billing's hourly rows and the limit check's totals: the period's MIN and weighted mean.
        engine = pg_sync_engine(settings)
        try:
            with engine.connect() as conn:
                assert meter_totals(hourly_usage(conn, uuid.UUID(tenant_id), start, end)) == (totals, set())
            assert PgLimitStore(engine).usage(tenant_id, start, end) == totals
        finally:
            engine.dispose()
    finally:
        await api.aclose()
        await worker.aclose()


def _minor(quantity: Decimal, unit_price: str) -> int:
    """What a unit charge bills in cents, computed here rather than by billing_jobs."""
    return int((quantity * D(unit_price) * 100).quantize(D(1), rounding=ROUND_HALF_UP))


def gauge(event_id: str, event_type: str, hour: int, value) -> dict:
    return {"id": event_id, "type": event_type, "time": INVOICED_DAY.replace(hour=hour).isoformat(),
            "data": {"v": value}}


async def test_late_min_and_avg_events_restate_the_invoiced_period(stream_worker, unique_slug):
    settings = stream_worker
    tenant = await create_tenant(settings, unique_slug, [("low", "level", "MIN", "v"), ("mean", "load", "AVG", "v")])
    plan = Plan.model_validate({
        "slug": f"p-{unique_slug}", "name": "Low and mean", "currency": "USD", "flat_fee": "1.00", "charges": [
            {"meter_slug": "low", "model": "unit", "unit_price": "0.50"},
            {"meter_slug": "mean", "model": "unit", "unit_price": "2.00"}]})
    engine = pg_engine(settings)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant.id, plan_id, started_at=INVOICED)
    await engine.dispose()

    low, mean = [D(10), D(30)], [D(10), D(30)]
    await produce(settings, tenant.id, [gauge("l1", "level", 3, 10), gauge("l2", "level", 10, 30),
                                        gauge("m1", "load", 4, 10), gauge("m2", "load", 20, 30)])
    await wait_for(lambda: invoiced_totals(settings, tenant.id) == {"low": min(low), "mean": _mean(mean)})
    billed = {"low": _minor(min(low), "0.50"), "mean": _minor(_mean(mean), "2.00")}
    first = invoice_of(generate_invoices(period=period(INVOICED), now=after(INVOICED)), unique_slug)
    assert (first.total_minor, first.status) == (100 + sum(billed.values()), "paid")

    # After it was issued: a lower level (sent twice), a higher one that lowers nothing, and a
    # load that raises the period's mean. Each meter is restated once, for what it costs now.
    await produce(settings, tenant.id, [gauge("l3", "level", 5, 4), gauge("l3", "level", 5, 4),
                                        gauge("l4", "level", 6, 40), gauge("m3", "load", 2, 50)])
    low += [D(4), D(40)]
    mean += [D(50)]
    await wait_for(lambda: sorted(restatements(settings, tenant.id)) == [("low", 2, None, None),
                                                                                  ("mean", 1, None, None)])
    assert invoiced_totals(settings, tenant.id) == {"low": min(low), "mean": _mean(mean)}
    restated = {"low": _minor(min(low), "0.50") - billed["low"], "mean": _minor(_mean(mean), "2.00") - billed["mean"]}
    assert restated == {"low": -300, "mean": 2000}  # the independent numbers, spelled out
    second = invoice_of(generate_invoices(period=period(NEXT), now=after(NEXT)), unique_slug)
    assert correction_lines(settings, tenant.id, second.number) == [("low", -300), ("mean", 2000)]
    assert second.total_minor == 100 - 300 + 2000
    assert sorted(restatements(settings, tenant.id)) == [("low", 2, second.number, -300),
                                                                  ("mean", 1, second.number, 2000)]

    # Late events that change neither value (a level above the minimum, a load at the mean):
    # restated at 0, so no line (one rule for zero-amount corrections).
    await produce(settings, tenant.id, [gauge("l5", "level", 7, 40), gauge("m4", "load", 8, 30)])
    mean += [D(30)]
    await wait_for(lambda: len(restatements(settings, tenant.id)) == 4)
    assert invoiced_totals(settings, tenant.id) == {"low": D(4), "mean": _mean(mean)}
    third = invoice_of(generate_invoices(period=period(AFTER_NEXT), now=after(AFTER_NEXT)), unique_slug)
    assert correction_lines(settings, tenant.id, third.number) == []
    assert third.total_minor == 100
    assert sorted(restatements(settings, tenant.id)[2:]) == [("low", 1, third.number, 0),
                                                                      ("mean", 1, third.number, 0)]
    # The first invoice is unchanged.
    assert invoice_of(generate_invoices(period=period(INVOICED), now=after(INVOICED)), unique_slug).total_minor == first.total_minor
