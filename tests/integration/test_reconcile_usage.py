"""`reconcile-usage` against the real stores: a difference planted in each (a rollup row
altered, a PostgreSQL window deleted, a raw event altered) is found, reported in the run's
artifact and in the admin API's /metrics, and repaired from raw events; the stream then
keeps counting on the repaired windows. Real Kafka, stream worker, PostgreSQL, chDB host and Prefect server."""

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
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from flows.reconcile import DIFFERENCES_ARTIFACT, reconcile_usage
from meterline.bootstrap import pg_engine
from metering import Meter
from tests.support.tenants import create_tenant
from warehouse.clickhouse.client import open_clickhouse
from warehouse.clickhouse.reconcile_store import ClickHouseReconcileStore
from warehouse.postgres.usage import usage_windows

pytestmark = pytest.mark.integration

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)
# Three events an hour apart: the planted differences land in distinct windows.
TIMES = {"a": NOW - timedelta(minutes=5), "b": NOW - timedelta(minutes=65), "c": NOW - timedelta(minutes=125)}


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0)


async def _produce(settings, tenant_id: uuid.UUID, events: list[dict]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(settings.kafka.events_topic, key=f"{tenant_id}:s".encode(), value=orjson.dumps(
            {"tenant_id": str(tenant_id), "received_at": NOW.isoformat(), "events": events}))
    finally:
        await producer.stop()


async def _hours(settings, tenant_id: uuid.UUID) -> dict[datetime, tuple[Decimal, int]]:
    engine = pg_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = await usage_windows(conn, tenant_id, "tokens", NOW - timedelta(days=1), NOW + timedelta(hours=1))
    finally:
        await engine.dispose()
    return {r.window_start: (r.quantity, r.event_count) for r in rows}


async def _wait_for(settings, tenant_id: uuid.UUID, expected: dict[datetime, tuple[Decimal, int]]) -> None:
    deadline = time.monotonic() + 60
    while (hours := await _hours(settings, tenant_id)) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert hours == expected


async def _sql(settings, statement: str, **parameters) -> None:
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement), parameters)
    finally:
        await engine.dispose()


async def _latest_rows() -> list[dict]:
    async with get_client() as client:
        (artifact,) = await client.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[DIFFERENCES_ARTIFACT])), limit=1)
    data = artifact.data if isinstance(artifact.data, list) else orjson.loads(artifact.data)
    return [row for row in data if row.get("store")]


def _found(rows: list[dict]) -> set[tuple[str, str, datetime]]:
    return {(row["store"], row["resolution"], datetime.fromisoformat(row["window_start"])) for row in rows}


async def _differences_metric(settings, expected_positive: bool) -> dict[tuple[str, str], float]:
    """meterline_reconcile_differences as the admin API's /metrics reports the latest run
    (it reads Prefect at most every 10 s)."""
    deadline = time.monotonic() + 30
    while True:
        text_ = httpx.get(f"http://127.0.0.1:{settings.api.port}/metrics", timeout=10).text
        values = {(s.labels["store"], s.labels["period"]): s.value for family in text_string_to_metric_families(text_)
                  for s in family.samples if s.name == "meterline_reconcile_differences"}
        if values and any(values.values()) == expected_positive or time.monotonic() > deadline:
            return values
        await asyncio.sleep(1)


async def test_a_difference_planted_in_each_store_is_found_and_repaired(stream_worker, api_service, unique_slug):
    settings = stream_worker
    tenant = await create_tenant(settings, unique_slug, [("tokens", "llm.call", "SUM", "tokens")])
    await _produce(settings, tenant.id, [{"id": name, "source": "test", "type": "llm.call", "subject": "s",
                                          "time": at.isoformat(), "data": {"tokens": 10}} for name, at in TIMES.items()])
    sent = {_hour(at): (Decimal(10), 1) for at in TIMES.values()}
    await _wait_for(settings, tenant.id, sent)
    # The meter existed before its events, so its rollups hold every window; rollup_from is
    # only the worker's first refresh with it, after which it trusts the rollups for reads.
    await _sql(settings, "UPDATE public.meter SET rollup_from = now() - interval '90 days' WHERE tenant_id = :t",
               t=tenant.id)

    clean = await reconcile_usage(tenants=[str(tenant.id)])
    assert clean["differences"] == 0 and clean["meter_periods"] == 2

    # A rollup row altered (a higher revision wins in ReplacingMergeTree), a PostgreSQL
    # window deleted, a raw event's value altered.
    client = open_clickhouse(settings.clickhouse)
    database = settings.clickhouse.database
    meter = Meter(tenant.id, "tokens", "llm.call", "SUM", "tokens")
    store = ClickHouseReconcileStore(client, database)
    hour_a = _hour(TIMES["a"])
    rolled = store.rollup_windows(meter, hour_a, hour_a + timedelta(hours=1))
    planted_revision = max(w.revision for w in rolled.values()) + 5
    client.command(
        f"INSERT INTO {database}.usage_rollup (tenant_id, meter_slug, resolution, window_start, group_key, aggregation, "
        f"quantity, event_count, latest_at, latest_id, revision) VALUES ('{tenant.id}', 'tokens', 'hour', "
        f"'{hour_a:%Y-%m-%d %H:%M:%S}', '{{}}', 'SUM', 99, 1, 0, '', {planted_revision})")
    await _sql(settings, f'DELETE FROM "{tenant.schema_name}".usage_hourly WHERE meter_slug = \'tokens\' '
               "AND window_start = :w", w=_hour(TIMES["b"]))
    client.command(f"ALTER TABLE {database}.events UPDATE data = '{{\"tokens\": 50}}' "
                   f"WHERE tenant_id = '{tenant.id}' AND id = 'c' SETTINGS mutations_sync = 2")

    found = await reconcile_usage(tenants=[str(tenant.id)])
    rows = await _latest_rows()
    assert found["differences"] == len(rows) > 0
    hour_c, day_c = _hour(TIMES["c"]), _hour(TIMES["c"]).replace(hour=0)
    assert {("rollup", "hour", hour_a), ("postgres", "hour", _hour(TIMES["b"])),
            ("rollup", "hour", hour_c), ("postgres", "hour", hour_c),
            ("rollup", "day", day_c), ("postgres", "day", day_c)} <= _found(rows)
    # Minutes are not stored (metering.STORED_RESOLUTIONS), so none is a difference.
    assert {resolution for _store, resolution, _window in _found(rows)} == {"hour", "day"}
    assert all(row["repaired"] is False for row in rows)
    by_store = await _differences_metric(settings, expected_positive=True)
    assert sum(by_store.values()) == len(rows)
    assert by_store[("postgres", "open")] + by_store[("postgres", "closed")] > 0
    assert by_store[("rollup", "open")] + by_store[("rollup", "closed")] > 0
    assert await _hours(settings, tenant.id) != sent  # reported only

    repaired = await reconcile_usage(tenants=[str(tenant.id)], repair=True)
    assert repaired["differences"] == found["differences"] and repaired["repaired"]
    assert all(row["repaired"] is True for row in await _latest_rows())
    again = await reconcile_usage(tenants=[str(tenant.id)])
    assert again["differences"] == 0
    assert not await _latest_rows()
    assert set((await _differences_metric(settings, expected_positive=False)).values()) == {0}

    expected = {**sent, hour_c: (Decimal(50), 1)}
    assert await _hours(settings, tenant.id) == expected
    rolled = store.rollup_windows(meter, hour_c - timedelta(days=1), NOW + timedelta(hours=1))
    assert {k.window_start: (w.quantity, w.event_count) for k, w in rolled.items() if k.resolution == "hour"} == expected

    # The stream merges its next events into the repaired windows (their revisions go on).
    await _produce(settings, tenant.id, [{"id": "d", "source": "test", "type": "llm.call", "subject": "s",
                                          "time": TIMES["b"].isoformat(), "data": {"tokens": 1}}])
    await _wait_for(settings, tenant.id, {**expected, _hour(TIMES["b"]): (Decimal(11), 2)})
    assert (await reconcile_usage(tenants=[str(tenant.id)]))["differences"] == 0
