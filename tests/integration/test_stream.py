"""The stream worker against real Kafka, PostgreSQL and chDB: exact totals, duplicates once."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from meterline.bootstrap import pg_engine
from tests.support.tenants import create_tenant
from warehouse.postgres.usage import usage_hours

pytestmark = pytest.mark.integration

NOW = datetime.now(timezone.utc).replace(minute=30, second=0, microsecond=0)


def _pack(tenant_id: uuid.UUID, subject: str, events: list[dict]) -> bytes:
    return orjson.dumps({"tenant_id": str(tenant_id), "received_at": NOW.isoformat(), "events": [
        {"source": "test", "subject": subject, **e} for e in events
    ]})


async def _produce(settings, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(settings.kafka.events_topic, value=v, key=k) for k, v in records])
    finally:
        await producer.stop()


async def _wait_for_usage(settings, tenant_id, meter: str, expected: Decimal, timeout_s: float = 30) -> Decimal:
    engine = pg_engine(settings)
    deadline = time.monotonic() + timeout_s
    total = Decimal(0)
    try:
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                hours = await usage_hours(conn, tenant_id, meter, NOW - timedelta(days=2), NOW + timedelta(days=1))
            total = sum((q for _, q, _ in hours), Decimal(0))
            if total >= expected:
                return total
            await asyncio.sleep(0.3)
        return total
    finally:
        await engine.dispose()


async def test_duplicates_across_packs_and_partitions_count_once(stream_worker, unique_slug):
    settings = stream_worker
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None),
                                                         ("tokens", "llm.tokens", "SUM", "usage.tokens")])
    other = await create_tenant(settings, unique_slug + "-b", [("calls", "api.call", "COUNT", None)])
    t = NOW.isoformat()
    records = [
        # Same ids under different subjects land on different partitions: still one count.
        (f"{tenant.id}:alice".encode(), _pack(tenant.id, "alice", [
            {"id": "e1", "type": "api.call", "time": t, "data": {}},
            {"id": "e2", "type": "api.call", "time": t, "data": {}},
            {"id": "k1", "type": "llm.tokens", "time": t, "data": {"usage": {"tokens": 1.5}}},
        ])),
        (f"{other.id}:alice".encode(), _pack(other.id, "alice", [
            # Another tenant may reuse an id: dedup is per tenant.
            {"id": "e1", "type": "api.call", "time": t, "data": {}},
        ])),
        (f"{tenant.id}:bob".encode(), _pack(tenant.id, "bob", [
            {"id": "e1", "type": "api.call", "time": t, "data": {}},
            {"id": "e3", "type": "api.call", "time": t, "data": {}},
            {"id": "k2", "type": "llm.tokens", "time": t, "data": {"usage": {"tokens": 2}}},
            {"id": "k3", "type": "llm.tokens", "time": t, "data": {"usage": {"tokens": "lots"}}},
        ])),
    ]
    await _produce(settings, records)
    # A late copy of an id already counted, in a later request.
    await _produce(settings, [(f"{tenant.id}:carol".encode(), _pack(tenant.id, "carol", [
        {"id": "e2", "type": "api.call", "time": t, "data": {}}]))])

    assert await _wait_for_usage(settings, tenant.id, "calls", Decimal(3)) == Decimal(3)
    assert await _wait_for_usage(settings, tenant.id, "tokens", Decimal("3.5")) == Decimal("3.5")
    assert await _wait_for_usage(settings, other.id, "calls", Decimal(1)) == Decimal(1)
    await asyncio.sleep(1.5)  # let any (wrong) extra copy arrive before the final check
    assert await _wait_for_usage(settings, tenant.id, "calls", Decimal(3), timeout_s=0.5) == Decimal(3)

    async with httpx.AsyncClient(base_url=settings.stream_web_url) as http:
        totals = (await http.get("/internal/event-totals", params={"tenant_id": str(tenant.id)})).json()["totals"]
    # Raw events keep every distinct event, including the one whose value was not a number.
    assert totals == {"api.call": 3, "llm.tokens": 3}
