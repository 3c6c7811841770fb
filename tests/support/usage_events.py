"""Usage events for billing tests, through the real pipeline: records on the events topic
(as ingest writes them), applied by the stream worker to PostgreSQL and ClickHouse.

Events older than ingest's age limit could not be sent through ingest, so tests keep
their events within it (the stream's dedup horizon is wider still)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone

import orjson
from aiokafka import AIOKafkaProducer

from meterline.bootstrap import pg_engine, pg_sync_engine
from meterline.settings import Settings
from warehouse.postgres.billing_usage import hourly_usage
from warehouse.postgres.meters import list_meter_states

__all__ = ["iso", "produce", "wait_meters_applied", "wait_hourly_events"]


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


async def produce(settings: Settings, tenant_id: str, events: list[dict], per_record: int = 50) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        received = iso(datetime.now(timezone.utc))
        sends = [await producer.send(settings.kafka.events_topic,
                                     value=orjson.dumps({"tenant_id": tenant_id, "received_at": received,
                                                         "events": events[i:i + per_record]}),
                                     key=f"{tenant_id}:{i % 3}".encode())
                 for i in range(0, len(events), per_record)]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def wait_meters_applied(settings: Settings, tenant_id: str, slugs: list[str], timeout_s: float = 60) -> None:
    """Until the worker has taken up each meter (its refresh timer): events sent after are metered."""
    engine = pg_engine(settings)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            async with engine.connect() as conn:
                done = {m.slug for m, backfilled in await list_meter_states(conn)
                        if backfilled and m.tenant_id == uuid.UUID(tenant_id)}
            if done >= set(slugs):
                return
            assert time.monotonic() < deadline, "the worker never applied the meters"
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def wait_hourly_events(settings: Settings, tenant_id: str, meter_slug: str, start: datetime, end: datetime,
                             expected: int, timeout_s: float = 90) -> None:
    """Until PostgreSQL's hourly usage of the meter in [start, end) counts `expected` events."""
    engine = pg_sync_engine(settings)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as conn:
                rows = hourly_usage(conn, uuid.UUID(tenant_id), start, end)
            got = sum(r.event_count for r in rows if r.meter_slug == meter_slug)
            if got >= expected or time.monotonic() > deadline:
                assert got == expected, f"{got} events of {meter_slug} applied, expected {expected}"
                return
            await asyncio.sleep(0.5)
    finally:
        engine.dispose()
