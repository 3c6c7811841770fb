"""What bench/stream.py runs its workers over: tenants with meters, a topic preloaded with
packed events as ingest packs them, and the tenant tables emptied between runs."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import datetime, timedelta

import orjson

PACK = 500  # events per record, as ingest's max_pack_events
SPAN_S = 3000  # the preload's events cover the last 50 minutes


async def seed_tenants(settings, run: str, tenants: int, meters: int) -> list[uuid.UUID]:
    from meterline.bootstrap import pg_engine
    from metering import Meter
    from warehouse.postgres.meters import insert_meter
    from warehouse.postgres.tenants import insert_tenant

    engine = pg_engine(settings)
    ids = []
    try:
        for t in range(tenants):
            async with engine.begin() as conn:
                slug = f"b{run}-{t}"
                tenant, _ = await insert_tenant(conn, slug=slug, name=slug, owner_email=f"o@{slug}.bench",
                                                owner_password_hash="x")
                for m in range(meters):
                    aggregation, path = ("COUNT", None) if m % 2 == 0 else ("SUM", "tokens")
                    await insert_meter(conn, Meter(tenant.id, f"m{m}", f"type.{m}", aggregation, path))
                ids.append(tenant.id)
    finally:
        await engine.dispose()
    return ids


def pack_records(tenant_ids: list[uuid.UUID], meters: int, total: int, now: datetime,
             times: str = "scattered", keying: str = "tenant", tally: dict | None = None):
    """Packs of PACK events for one (tenant, subject), as (key, value), generated lazily (a
    5,000,000-event backlog is ~750 MB of records); `tally["distinct"]` counts distinct events.

    times="recorded": as a backlog of live traffic is, event times follow the topic's
    order over SPAN_S (a few seconds of jitter), except the 2% late ones. "scattered":
    every event at a random moment of SPAN_S, whatever its place in the topic (the worst
    case for window rows: every run of the topic touches every minute of every meter).
    keying="tenant": keyed as ingest keys records (issue 16); "subject": tenant:subject,
    as before it."""
    rng = random.Random(4)
    tally = {} if tally is None else tally
    tally["distinct"] = 0
    n = 0
    recent: dict[uuid.UUID, list[dict]] = {t: [] for t in tenant_ids}  # duplicates copy a tenant's own events
    while n < total:
        tenant_id = rng.choice(tenant_ids)
        subject = f"c{rng.randint(0, 49)}"
        events = []
        for _ in range(min(PACK, total - n)):
            n += 1
            own = recent[tenant_id]
            if own and rng.random() < 0.02:
                events.append(rng.choice(own))
                continue
            late = rng.random() < 0.02
            ago = rng.randint(0, SPAN_S) if times == "scattered" else SPAN_S * (total - n) / total + rng.random() * 5
            at = now - timedelta(hours=rng.randint(1, 72) if late else 0, seconds=ago)
            m = rng.randrange(meters)
            event = {"id": uuid.uuid4().hex, "source": "bench", "type": f"type.{m}", "subject": subject,
                     "time": at.isoformat(), "data": {"tokens": rng.randint(1, 99)}}
            tally["distinct"] += 1
            if len(own) < 1_000:
                own.append(event)
            else:
                own[rng.randrange(1_000)] = event
            events.append(event)
        key = f"{tenant_id}:{subject}" if keying == "subject" else f"{tenant_id}"
        yield (key.encode(), orjson.dumps({"tenant_id": str(tenant_id), "received_at": now.isoformat(),
                                           "events": events}))


async def produce(bootstrap: str, topic: str, records) -> int:
    """Every (key, value) of the iterable to the topic; returns how many records."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                compression_type="lz4", linger_ms=5, max_batch_size=1024 * 1024,
                                max_request_size=8 * 1024 * 1024)
    await producer.start()
    count, chunk = 0, []
    try:
        for record in records:
            chunk.append(record)
            if len(chunk) == 500:
                await asyncio.gather(*[await producer.send(topic, value=v, key=k) for k, v in chunk])
                count, chunk = count + len(chunk), []
        await asyncio.gather(*[await producer.send(topic, value=v, key=k) for k, v in chunk])
        return count + len(chunk)
    finally:
        await producer.stop()


async def raw_consumer_eps(bootstrap: str, topic: str, expected_events: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    seen = 0
    started = time.perf_counter()
    try:
        while seen < expected_events:
            for messages in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                for message in messages:
                    seen += len(orjson.loads(message.value)["events"])
    finally:
        await consumer.stop()
    return seen / (time.perf_counter() - started)


# What the stream writes per tenant: emptied between runs, so each run starts as the first.
STREAM_TABLES = ("processed_event", "usage_hourly", "usage_daily", "duplicate_tally",
                 "duplicate_conflict", "dead_letter", "usage_correction")


async def reset_counts(dsn: str, tenant_ids: list[uuid.UUID]) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        schemas = [r[0] for r in await (await conn.execute(
            "SELECT schema_name FROM public.tenant WHERE id = ANY(%s)", [tenant_ids])).fetchall()]
        await conn.execute("TRUNCATE " + ", ".join(f'"{s}".{t}' for s in schemas for t in STREAM_TABLES))
