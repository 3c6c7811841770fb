"""A meter created after its events arrived counts them, through every read path.

The events reach the stream (and ClickHouse's raw table) while the tenant has no meter
for their type; the meter is then created through the admin API, and more events (and
copies of the old ones) follow. Every way usage is read must hold exactly the distinct
events the test sent: the admin API's ClickHouse and PostgreSQL usage at each
resolution, the worker's committed windows, and the hourly rows billing rates.
Real Kafka, PostgreSQL, chDB host, stream worker and API.
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

from meterline.bootstrap import pg_sync_engine
from warehouse.postgres.billing_usage import hourly_usage

pytestmark = pytest.mark.integration

HOUR = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
DAY = HOUR.replace(hour=0)


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


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _at(event: dict) -> datetime:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00"))


def _expected(events: list[dict], step: timedelta) -> dict[datetime, tuple[Decimal, int]]:
    """The test's own count: per window of `step`, the tokens and events of the distinct events."""
    windows: dict[datetime, list] = defaultdict(lambda: [Decimal(0), 0])
    for event in events:
        at = _at(event)
        start = datetime.fromtimestamp(at.timestamp() // step.total_seconds() * step.total_seconds(), timezone.utc)
        windows[start][0] += Decimal(event["data"]["tokens"])
        windows[start][1] += 1
    return {start: (quantity, count) for start, (quantity, count) in windows.items()}


def _points(body: dict) -> dict[datetime, tuple[Decimal, int]]:
    return {datetime.fromisoformat(p["window_start"].replace("Z", "+00:00")): (Decimal(p["quantity"]), p["event_count"])
            for p in body["points"]}


async def test_meter_created_after_its_events_counts_them_in_every_read_path(stream_worker, api_service, unique_slug):
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
        # A meter of another type: the tenant is known to the worker before "llm" has one.
        assert (await api.post("/v1/meters", headers=auth, json={
            "slug": "calls", "event_type": "api.call", "aggregation": "COUNT"})).status_code == 201

        rng = random.Random(11)
        before = [{"id": f"b{i}", "type": "llm", "subject": "s",
                   "time": _iso(HOUR - timedelta(hours=rng.randint(1, 40), minutes=rng.randint(0, 59))),
                   "data": {"tokens": rng.randint(1, 100)}} for i in range(400)]
        # Copies within the stream before the meter exists: counted once.
        await _produce(settings, tenant_id, before + before[:30])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            totals = (await worker.get("/internal/event-totals", params={"tenant_id": tenant_id})).json()["totals"]
            if totals.get("llm", 0) >= len(before):
                break
            await asyncio.sleep(0.3)
        assert totals == {"llm": len(before)}

        created = await api.post("/v1/meters", headers=auth, json={
            "slug": "tokens", "event_type": "llm", "aggregation": "SUM", "value_path": "tokens"})
        assert created.status_code == 201, created.text
        after = [{"id": f"a{i}", "type": "llm", "subject": "s",
                  "time": _iso(HOUR - timedelta(hours=rng.randint(0, 40), minutes=rng.randint(0, 59))),
                  "data": {"tokens": rng.randint(1, 100)}} for i in range(300)]
        # Later copies of old events stay duplicates; late events land in backfilled windows.
        await _produce(settings, tenant_id, after + before[100:140])
        sent = before + after
        total = sum(Decimal(e["data"]["tokens"]) for e in sent)
        start, end = DAY - timedelta(days=2), DAY + timedelta(days=1)
        span = {"meter": "tokens", "from": start.isoformat(), "to": end.isoformat()}

        deadline = time.monotonic() + 90
        while True:
            hourly = (await api.get("/v1/usage/hourly", headers=auth, params=span)).json()
            if hourly.get("total_events", 0) >= len(sent) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)

        for window, step in (("minute", timedelta(minutes=1)), ("hour", timedelta(hours=1)), ("day", timedelta(days=1))):
            expected = _expected(sent, step)
            answer = await api.get("/v1/usage", headers=auth, params={**span, "window": window})
            assert answer.status_code == 200, answer.text
            assert (Decimal(answer.json()["total_quantity"]), answer.json()["total_events"]) == (total, len(sent)), window
            assert _points(answer.json()) == expected, window
            for source in ("postgres", "clickhouse"):
                committed = (await worker.get("/internal/usage", params={
                    "tenant_id": tenant_id, "slug": "tokens", "start": start.isoformat(), "end": end.isoformat(),
                    "window": window, "source": source})).json()
                assert (Decimal(committed["total_quantity"]), committed["total_events"]) == (total, len(sent)), \
                    (window, source, committed["read_from"])
                assert _points(committed) == expected, (window, source)
        assert (Decimal(hourly["total_quantity"]), hourly["total_events"]) == (total, len(sent))
        assert _points(hourly) == _expected(sent, timedelta(hours=1))
    finally:
        await api.aclose()
        await worker.aclose()

    # What invoices rate: the tenant's hourly rows in PostgreSQL.
    engine = pg_sync_engine(settings)
    try:
        with engine.connect() as conn:
            rows = hourly_usage(conn, uuid.UUID(tenant_id), start, end)
    finally:
        engine.dispose()
    billed: dict[datetime, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row.meter_slug == "tokens":
            billed[row.window_start] += row.quantity
    assert dict(billed) == {hour: quantity for hour, (quantity, _) in _expected(sent, timedelta(hours=1)).items()}

