"""Late events of MAX and LATEST meters for an invoiced period, end to end: the stream
worker (real Kafka, PostgreSQL, chDB) records a restatement, and the next invoice
(Prefect, localstripe) bills what the period costs now minus what was billed, once.

Every event is timed on one day three days ago, so it is always within the dedup horizon;
the invoiced period is that day's month, the invoices after it the next two months.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from billing_jobs.plans import Plan
from billing_jobs.usage_totals import meter_totals
from flows.invoicing import generate_invoices
from meterline.bootstrap import pg_engine, pg_sync_engine
from metering import Meter
from tests.support.tenants import create_tenant
from warehouse.postgres.billing_usage import hourly_usage
from warehouse.postgres.invoices import PgInvoiceStore
from warehouse.postgres.meters import insert_meter
from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription
from warehouse.postgres.tables import processed_event
from warehouse.postgres.tenant_scope import tenant_scope_sync
from warehouse.postgres.usage import pending_corrections, usage_correction

pytestmark = pytest.mark.integration

D = Decimal
DAY = (datetime.now(timezone.utc) - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
INVOICED = DAY.replace(day=1)
NEXT = (INVOICED + timedelta(days=32)).replace(day=1)
AFTER_NEXT = (NEXT + timedelta(days=32)).replace(day=1)


def hour(h: int) -> datetime:
    return DAY.replace(hour=h)


def period(month: datetime) -> str:
    return f"{month:%Y-%m}"


def after(month: datetime) -> datetime:
    """The flow's clock for invoicing `month`: the instant it closes. INVOICED may be the
    month under way and NEXT the one after it; the period guard bills only closed months."""
    return (month + timedelta(days=32)).replace(day=1)


async def produce(settings, tenant_id: uuid.UUID, events: list[dict]) -> None:
    """One record per event, all on one partition (one key), so they are applied in order."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            value = orjson.dumps({"tenant_id": str(tenant_id), "received_at": datetime.now(timezone.utc).isoformat(),
                                  "events": [{"source": "test", "subject": "s", **event}]})
            await producer.send_and_wait(settings.kafka.events_topic, value=value, key=f"{tenant_id}:s".encode())
    finally:
        await producer.stop()


def storage(event_id: str, at: datetime, gb: int) -> dict:
    return {"id": event_id, "type": "storage", "time": at.isoformat(), "data": {"gb": gb}}


def seats(event_id: str, at: datetime, n: int) -> dict:
    return {"id": event_id, "type": "seat", "time": at.isoformat(), "data": {"n": n}}


def invoiced_totals(settings, tenant_id) -> dict[str, Decimal]:
    engine = pg_sync_engine(settings)
    try:
        with engine.connect() as conn:
            return meter_totals(hourly_usage(conn, tenant_id, INVOICED, NEXT))[0]
    finally:
        engine.dispose()


def restatements(settings, tenant_id) -> list[tuple[str, int, str | None, int | None]]:
    """(meter, late events, applying invoice, amount billed) of every restatement, oldest first
    (rows one batch writes come in no particular order)."""
    engine = pg_sync_engine(settings)
    try:
        with engine.connect() as conn:
            rows = tenant_scope_sync(conn, tenant_id).execute(
                select(usage_correction.c.meter_slug, usage_correction.c.event_count,
                       usage_correction.c.applied_invoice_number, usage_correction.c.amount_minor)
                .where(usage_correction.c.kind == "restate").order_by(usage_correction.c.id)).all()
    finally:
        engine.dispose()
    return [(m, int(n), a, None if amount is None else int(amount)) for m, n, a, amount in rows]


async def wait_for(condition, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the stream did not get there in time"
        await asyncio.sleep(0.3)


def invoice_of(summaries, slug):
    [summary] = [s for s in summaries if s.tenant_slug == slug]
    return summary


def correction_lines(settings, tenant_id, number: str) -> list[tuple[str, int]]:
    stored = PgInvoiceStore(pg_sync_engine(settings)).get(str(tenant_id), number)
    return [(line.meter_slug, line.amount_minor) for line in stored.draft.lines if line.kind == "correction"]


async def subscribe(settings, tenant, unique_slug: str, fee: str = "1.00") -> None:
    """`fee` a month, peak at 0.50 and seats at 2.00 a unit, from the start of the invoiced month."""
    plan = Plan.model_validate({
        "slug": f"p-{unique_slug}", "name": "Peak and seats", "currency": "USD", "flat_fee": fee, "charges": [
            {"meter_slug": "peak", "model": "unit", "unit_price": "0.50"},
            {"meter_slug": "seats", "model": "unit", "unit_price": "2.00"}]})
    engine = pg_engine(settings)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant.id, plan_id, started_at=INVOICED)
    await engine.dispose()


def events_taken(settings, schema: str) -> int:
    engine = pg_sync_engine(settings)
    try:
        with engine.connect() as conn:
            return conn.execution_options(schema_translate_map={"tenant": schema}).execute(
                select(func.count()).select_from(processed_event)).scalar_one()
    finally:
        engine.dispose()


async def test_late_max_and_latest_events_restate_the_invoiced_period_once(stream_worker, unique_slug):
    settings = stream_worker
    tenant = await create_tenant(settings, unique_slug, [("peak", "storage", "MAX", "gb"),
                                                         ("seats", "seat", "LATEST", "n")])
    await subscribe(settings, tenant, unique_slug)

    await produce(settings, tenant.id, [storage("p1", hour(3), 10), storage("p2", hour(10), 30),
                                        seats("s1", hour(4), 5), seats("s2", hour(20), 7)])
    await wait_for(lambda: invoiced_totals(settings, tenant.id) == {"peak": D(30), "seats": D(7)})
    # 1.00 fee + peak 30 x 0.50 + seats 7 x 2.00 = 30.00.
    first = invoice_of(generate_invoices(period=period(INVOICED), now=after(INVOICED)), unique_slug)
    assert (first.total_minor, first.status) == (3000, "paid")

    # After it was issued: a peak of 50 (sent twice), a peak of 20 that raises nothing, and a seat
    # count timed before the latest one, which LATEST ignores.
    await produce(settings, tenant.id, [storage("p3", hour(5), 50), storage("p3", hour(5), 50),
                                        storage("p4", hour(6), 20), seats("s4", hour(2), 20)])
    await wait_for(lambda: sorted(restatements(settings, tenant.id)) == [("peak", 2, None, None),
                                                                                  ("seats", 1, None, None)])
    assert invoiced_totals(settings, tenant.id) == {"peak": D(50), "seats": D(7)}
    engine = pg_engine(settings)
    async with engine.connect() as conn:  # what the admin API lists
        pending = await pending_corrections(conn, tenant.id)
    await engine.dispose()
    assert sorted((c.meter_slug, c.kind, c.window_start, c.quantity) for c in pending) == [
        ("peak", "restate", INVOICED, D(0)), ("seats", "restate", INVOICED, D(0))]

    # The next invoice: its fee, no usage of its own, and peak restated: (50 - 30) x 0.50 = 10.00.
    # Seats did not change: no line, applied at 0.
    second = invoice_of(generate_invoices(period=period(NEXT), now=after(NEXT)), unique_slug)
    assert second.total_minor == 100 + 1000
    assert correction_lines(settings, tenant.id, second.number) == [("peak", 1000)]
    assert sorted(restatements(settings, tenant.id)) == [("peak", 2, second.number, 1000),
                                                                  ("seats", 1, second.number, 0)]
    assert invoice_of(generate_invoices(period=period(NEXT), now=after(NEXT)), unique_slug).total_minor == 1100  # a rerun

    # The 50 replayed after it was billed is a duplicate: nothing new. A later seat count of 9
    # restates seats: 9 x 2.00 - 14.00 billed = 4.00. A fresh peak of 50 restates peak at 0:
    # already billed, it bills nothing again.
    await produce(settings, tenant.id, [storage("p3", hour(5), 50), seats("s3", hour(22), 9),
                                        storage("p5", hour(7), 50)])
    await wait_for(lambda: len(restatements(settings, tenant.id)) == 4)
    await asyncio.sleep(1.5)  # let any (wrong) extra row arrive before the check
    assert sorted(restatements(settings, tenant.id)[2:]) == [("peak", 1, None, None),
                                                                      ("seats", 1, None, None)]
    assert invoiced_totals(settings, tenant.id) == {"peak": D(50), "seats": D(9)}
    third = invoice_of(generate_invoices(period=period(AFTER_NEXT), now=after(AFTER_NEXT)), unique_slug)
    assert third.total_minor == 100 + 400
    assert correction_lines(settings, tenant.id, third.number) == [("seats", 400)]
    assert sorted(restatements(settings, tenant.id)[2:]) == [("peak", 1, third.number, 0),
                                                                      ("seats", 1, third.number, 400)]
    # The first invoice is unchanged.
    assert invoice_of(generate_invoices(period=period(INVOICED), now=after(INVOICED)), unique_slug).total_minor == 3000


async def test_a_max_meter_created_after_the_period_was_invoiced_restates_it(stream_worker, unique_slug):
    """The backfill path: the events were taken before their meter existed, the period was
    invoiced without them, and the meter's backfill records the restatement."""
    settings = stream_worker
    tenant = await create_tenant(settings, unique_slug, [])
    await subscribe(settings, tenant, unique_slug)
    await produce(settings, tenant.id, [storage("p1", hour(3), 10), storage("p2", hour(10), 30)])
    await wait_for(lambda: events_taken(settings, tenant.schema_name) == 2)
    first = invoice_of(generate_invoices(period=period(INVOICED), now=after(INVOICED)), unique_slug)
    assert first.total_minor == 100  # the fee: no meter, no usage

    engine = pg_engine(settings)
    async with engine.begin() as conn:
        await insert_meter(conn, Meter(tenant.id, "peak", "storage", "MAX", "gb"))
    await engine.dispose()
    await wait_for(lambda: restatements(settings, tenant.id) == [("peak", 2, None, None)])
    assert invoiced_totals(settings, tenant.id) == {"peak": D(30)}

    second = invoice_of(generate_invoices(period=period(NEXT), now=after(NEXT)), unique_slug)
    assert correction_lines(settings, tenant.id, second.number) == [("peak", 1500)]  # 30 x 0.50 - 0 billed
    assert second.total_minor == 100 + 1500


async def test_a_latest_value_replaced_by_a_lower_one_is_credited(stream_worker, unique_slug):
    settings = stream_worker
    tenant = await create_tenant(settings, unique_slug, [("seats", "seat", "LATEST", "n")])
    await subscribe(settings, tenant, unique_slug, fee="10.00")
    await produce(settings, tenant.id, [seats("s1", hour(10), 7)])
    await wait_for(lambda: invoiced_totals(settings, tenant.id) == {"seats": D(7)})
    first = invoice_of(generate_invoices(period=period(INVOICED), now=after(INVOICED)), unique_slug)
    assert first.total_minor == 1000 + 1400

    await produce(settings, tenant.id, [seats("s2", hour(12), 5)])  # later than s1: the period ends at 5
    await wait_for(lambda: restatements(settings, tenant.id) == [("seats", 1, None, None)])
    second = invoice_of(generate_invoices(period=period(NEXT), now=after(NEXT)), unique_slug)
    assert correction_lines(settings, tenant.id, second.number) == [("seats", -400)]  # 5 x 2.00 - 14.00
    assert (second.total_minor, second.status) == (1000 - 400, "paid")
    assert restatements(settings, tenant.id) == [("seats", 1, second.number, -400)]
