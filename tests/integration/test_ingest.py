"""The ingest service against the real broker and database of the test stack.

The app runs in-process (httpx over ASGI, with its lifespan); records are read back
from the events topic with a plain aiokafka consumer, from offsets taken before the
request, and filtered by tenant since other tests share the topic.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from asgi_lifespan import LifespanManager

from ingest.packing import shard_key
from meterline.bootstrap import ingest_app
from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from warehouse.postgres.api_keys import create_api_key, revoke_api_key
from warehouse.postgres.tenants import insert_tenant, set_tenant_status

pytestmark = pytest.mark.integration

LIMITS = dict(max_events_per_request=50, max_body_bytes=64 * 1024, max_data_bytes=256, max_id_length=32,
              max_string_length=64, api_key_cache_ttl_s=1.0)


def _with_ingest(settings: Settings, **ingest) -> Settings:
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update=ingest)})


@pytest.fixture(scope="module")
def settings(stack: Settings) -> Settings:
    return _with_ingest(stack, **LIMITS)


@pytest.fixture(scope="module")
async def engine(stack: Settings):
    engine = pg_engine(stack)
    yield engine
    await engine.dispose()


async def serve(settings: Settings):
    app = ingest_app(settings)
    manager = LifespanManager(app)
    await manager.__aenter__()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://ingest")
    return manager, client


@pytest.fixture(scope="module")
async def client(settings: Settings):
    manager, client = await serve(settings)
    yield client
    await client.aclose()
    await manager.__aexit__(None, None, None)


@pytest.fixture
async def tenant(engine, unique_slug):
    return await make_tenant(engine, unique_slug)


async def make_tenant(engine, slug: str) -> tuple[uuid.UUID, str, uuid.UUID]:
    async with engine.begin() as conn:
        record, _ = await insert_tenant(conn, slug=slug, name=slug, owner_email=f"{slug}@example.com",
                                        owner_password_hash="x")
        key, plaintext = await create_api_key(conn, record.id, "ingest test")
    return record.id, plaintext, key.id


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def event(i: int | str, subject: str = "customer-1", **extra) -> dict:
    return {"specversion": "1.0", "id": f"ev-{i}", "source": "test", "type": "api_call", "subject": subject,
            "data": {"n": 1}, **extra}


# --- reading the topic ----------------------------------------------------------------

async def end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    topic = settings.kafka.events_topic
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        parts = [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.end_offsets(parts)
    finally:
        await consumer.stop()


async def read_packs(settings: Settings, start: dict[TopicPartition, int], tenant_id: uuid.UUID,
                     expect_events: int, timeout_s: float = 15.0) -> list[tuple[int, bytes, dict]]:
    """(partition, key, pack) of the tenant's records after ``start``, once ``expect_events`` arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    packs: list[tuple[int, bytes, dict]] = []
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while sum(len(p["events"]) for *_, p in packs) < expect_events:
            assert asyncio.get_running_loop().time() < deadline, f"only {packs} arrived"
            batches = await consumer.getmany(timeout_ms=300)
            for records in batches.values():
                for record in records:
                    pack = orjson.loads(record.value)
                    if pack["tenant_id"] == str(tenant_id):
                        packs.append((record.partition, record.key, pack))
        await asyncio.sleep(0.3)  # nothing more may follow
        for records in (await consumer.getmany(timeout_ms=300)).values():
            packs += [(r.partition, r.key, orjson.loads(r.value)) for r in records
                      if orjson.loads(r.value)["tenant_id"] == str(tenant_id)]
        return packs
    finally:
        await consumer.stop()


def all_events(packs) -> list[dict]:
    return [e for *_, p in packs for e in p["events"]]


def default_partition(tenant_id: uuid.UUID, subject: str, partitions: int, shards: int = 1) -> int:
    """Where Kafka's default partitioner puts the record key of a tenant's subject (the
    tenant's id, or one of its `shards` keys; ingest.packing)."""
    every = list(range(partitions))
    return DefaultPartitioner()(shard_key(str(tenant_id), subject, shards), every, every)


# --- accepted shapes ------------------------------------------------------------------

@pytest.mark.parametrize("shape", ["single", "array", "batch", "ndjson"])
async def test_accepts_each_body_shape(shape, client, settings, tenant):
    tenant_id, key, _ = tenant
    events = [event(i, subject=f"s{i % 2}") for i in range(1 if shape == "single" else 4)]
    if shape == "single":
        kwargs = dict(json=events[0])
    elif shape == "array":
        kwargs = dict(json=events)
    elif shape == "batch":
        kwargs = dict(content=orjson.dumps(events), headers={"Content-Type": "application/cloudevents-batch+json"})
    else:
        kwargs = dict(content=b"\n".join(orjson.dumps(e) for e in events) + b"\n",
                      headers={"Content-Type": "application/x-ndjson"})
    start = await end_offsets(settings)
    headers = {**auth(key), **kwargs.pop("headers", {})}
    response = await client.post("/v1/events", headers=headers, **kwargs)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": len(events), "duplicates_in_request": 0}

    packs = await read_packs(settings, start, tenant_id, len(events))
    assert sorted(e["id"] for e in all_events(packs)) == sorted(e["id"] for e in events)
    # Keyed by tenant (issue 16): one record, on the partition Kafka's default partitioner
    # gives the tenant's id.
    assert len(packs) == 1
    for partition, key_bytes, pack in packs:
        subjects = {e["subject"] for e in pack["events"]}
        assert {default_partition(tenant_id, s, len(start)) for s in subjects} == {partition}
        assert key_bytes == str(tenant_id).encode()
        assert set(pack) == {"tenant_id", "received_at", "events"}
        assert pack["received_at"].endswith("Z")
    assert all(set(e) == {"id", "source", "type", "subject", "time", "data"} for e in all_events(packs))


async def test_record_format_time_normalised_and_body_tenant_ignored(client, settings, tenant, engine, unique_slug):
    tenant_id, key, _ = tenant
    other_id, _, _ = await make_tenant(engine, unique_slug + "x")
    now = datetime.now(UTC).replace(microsecond=0)
    local = (now - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    events = [event("a", time=local.isoformat(), tenant_id=str(other_id), extra="dropped"), event("b")]
    start = await end_offsets(settings)
    response = await client.post("/v1/events", headers=auth(key), json=events)
    assert response.status_code == 202, response.text

    packs = await read_packs(settings, start, tenant_id, 2)
    by_id = {e["id"]: e for e in all_events(packs)}
    assert by_id["ev-a"]["time"] == (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert by_id["ev-a"] == {"id": "ev-a", "source": "test", "type": "api_call", "subject": "customer-1",
                             "time": by_id["ev-a"]["time"], "data": {"n": 1}}
    # Absent time: the receipt time, in UTC.
    received = datetime.fromisoformat(by_id["ev-b"]["time"])
    assert abs((received - datetime.now(UTC)).total_seconds()) < 30
    assert all(p["tenant_id"] == str(tenant_id) for *_, p in packs)
    assert not await read_packs(settings, start, other_id, 0, timeout_s=1)


async def test_duplicates_within_a_request_are_sent_once(client, settings, tenant):
    tenant_id, key, _ = tenant
    events = [event(1), event(2), event(1), event(3, subject="other"), event(2)]
    start = await end_offsets(settings)
    response = await client.post("/v1/events", headers=auth(key), json=events)
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "duplicates_in_request": 2}
    packs = await read_packs(settings, start, tenant_id, 3)
    assert sorted(e["id"] for e in all_events(packs)) == ["ev-1", "ev-2", "ev-3"]
    # One record: the tenant's key, whatever the subjects.
    assert sorted(len(p["events"]) for *_, p in packs) == [3]


async def test_a_sharded_tenant_spreads_its_subjects_over_its_keys(stack, tenant):
    tenant_id, key, _ = tenant
    settings = _with_ingest(stack, tenant_key_shards={str(tenant_id): 3})
    manager, client = await serve(settings)
    try:
        start = await end_offsets(settings)
        events = [event(i, subject=f"s{i % 12}") for i in range(48)]
        response = await client.post("/v1/events", headers=auth(key), json=events)
        assert response.status_code == 202, response.text
        packs = await read_packs(settings, start, tenant_id, 48)
        assert sorted(e["id"] for e in all_events(packs)) == sorted(e["id"] for e in events)
        keys = {shard_key(str(tenant_id), f"s{i}", 3) for i in range(12)}
        assert len(keys) > 1  # 12 subjects over 3 keys
        for partition, _, pack in packs:
            # Each subject on its own key's partition, in request order.
            for subject in {e["subject"] for e in pack["events"]}:
                assert default_partition(tenant_id, subject, len(start), shards=3) == partition
                ids = [e["id"] for e in pack["events"] if e["subject"] == subject]
                assert ids == sorted(ids, key=lambda i: int(i.split("-")[1]))
    finally:
        await client.aclose()
        await manager.__aexit__(None, None, None)


async def test_large_subject_groups_split_into_packs(stack, tenant):
    tenant_id, key, _ = tenant
    settings = _with_ingest(stack, max_pack_events=3)
    manager, client = await serve(settings)
    try:
        start = await end_offsets(settings)
        response = await client.post("/v1/events", headers=auth(key), json=[event(i) for i in range(7)])
        assert response.status_code == 202
        packs = await read_packs(settings, start, tenant_id, 7)
        assert [len(p["events"]) for *_, p in packs] == [3, 3, 1]
        assert [e["id"] for e in all_events(packs)] == [f"ev-{i}" for i in range(7)]  # one partition, in order
    finally:
        await client.aclose()
        await manager.__aexit__(None, None, None)


async def test_concurrent_requests_share_records_and_each_event_arrives_once(client, settings, tenant):
    tenant_id, key, _ = tenant
    assert (await client.post("/v1/events", headers=auth(key), json=event("warm"))).status_code == 202
    start = await end_offsets(settings)
    responses = await asyncio.gather(*[client.post("/v1/events", headers=auth(key), json=event(i, subject="hot"))
                                       for i in range(30)])
    assert [r.status_code for r in responses] == [202] * 30
    assert all(r.json() == {"accepted": 1, "duplicates_in_request": 0} for r in responses)
    packs = await read_packs(settings, start, tenant_id, 30)
    assert sorted(e["id"] for e in all_events(packs)) == sorted(f"ev-{i}" for i in range(30))
    hot = default_partition(tenant_id, "hot", len(start))  # the tenant's partition
    assert {partition for partition, *_ in packs} == {hot}
    # Requests in flight together were packed together: fewer records than requests.
    assert len(packs) < 30, [len(p["events"]) for *_, p in packs]


# --- authentication -------------------------------------------------------------------

def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize("header", [None, "Bearer mlk_wrong", "Basic abc", "Bearer "],
                         ids=["missing", "wrong", "not-bearer", "empty"])
async def test_bad_keys_get_401(header, client):
    headers = {"Authorization": header} if header else {}
    response = await client.post("/v1/events", headers=headers, json=event(1))
    assert_error(response, 401, "invalid_api_key" if header == "Bearer mlk_wrong" else "unauthenticated")


async def test_revoked_key_refused_within_the_cache_ttl(client, engine, tenant):
    tenant_id, key, key_id = tenant
    assert (await client.post("/v1/events", headers=auth(key), json=event(1))).status_code == 202
    async with engine.begin() as conn:
        assert await revoke_api_key(conn, tenant_id, key_id)
    # Still cached: no database round trip per request.
    assert (await client.post("/v1/events", headers=auth(key), json=event(2))).status_code == 202
    await asyncio.sleep(LIMITS["api_key_cache_ttl_s"] + 0.2)
    assert_error(await client.post("/v1/events", headers=auth(key), json=event(3)), 401, "invalid_api_key")


async def test_suspended_tenant_gets_403(client, engine, tenant):
    tenant_id, key, _ = tenant
    async with engine.begin() as conn:
        await set_tenant_status(conn, tenant_id, "suspended")
    assert_error(await client.post("/v1/events", headers=auth(key), json=event(1)), 403, "tenant_suspended")


# --- limits and bad input -------------------------------------------------------------

def _hours_from_now(hours: float) -> dict:
    # Evaluated when the test runs, not when the module is imported: a long suite made
    # an import-time "10 minutes ahead" fall inside the accepted window.
    return {"time": (datetime.now(UTC) + timedelta(hours=hours)).isoformat()}

BAD_EVENTS = [
    ("no-id", {"id": None}, "id"),
    ("empty-id", {"id": ""}, "id"),
    ("id-not-string", {"id": 7}, "id"),
    ("id-too-long", {"id": "x" * 33}, "id"),
    ("subject-too-long", {"subject": "s" * 33}, "subject"),
    ("source-too-long", {"source": "s" * 65}, "source"),
    ("no-type", {"type": None}, "type"),
    ("no-subject", {"subject": None}, "subject"),
    ("type-too-long", {"type": "t" * 65}, "type"),
    ("data-not-object", {"data": [1, 2]}, "data"),
    ("data-too-large", {"data": {"blob": "x" * 300}}, "data"),
    ("time-not-rfc3339", {"time": "yesterday"}, "time"),
    ("time-without-offset", {"time": "2026-01-01T00:00:00"}, "time"),
    ("time-too-old", lambda: _hours_from_now(-36 * 24), "time"),
    ("time-too-far-ahead", lambda: _hours_from_now(10 / 60), "time"),
    ("bad-specversion", {"specversion": "0.3"}, "specversion"),
]


@pytest.mark.parametrize(("change", "field"), [(c, f) for _, c, f in BAD_EVENTS], ids=[i for i, _, _ in BAD_EVENTS])
async def test_a_bad_event_rejects_the_whole_request(change, field, client, settings, tenant):
    tenant_id, key, _ = tenant
    change = change() if callable(change) else change
    bad = {**event(2), **change}
    if change.get(field, "") is None:
        del bad[field]
    start = await end_offsets(settings)
    response = await client.post("/v1/events", headers=auth(key), json=[event(0), event(1), bad, event(3)])
    error = assert_error(response, 422, "invalid_events")
    assert [(d["index"], d["field"]) for d in error["details"]] == [(2, field)]
    assert error["details"][0]["reason"]
    assert not await read_packs(settings, start, tenant_id, 0, timeout_s=1)


async def test_time_within_the_window_is_accepted(client, tenant):
    _, key, _ = tenant
    events = [event(1, time=(datetime.now(UTC) - timedelta(days=34)).isoformat()),
              event(2, time=(datetime.now(UTC) + timedelta(minutes=4)).isoformat().replace("+00:00", "Z"))]
    assert (await client.post("/v1/events", headers=auth(key), json=events)).status_code == 202


async def test_every_bad_event_is_named(client, tenant):
    _, key, _ = tenant
    events = [event(0), "not an object", {**event(2), "time": "no"}, {**event(3), "data": 5, "type": ""}]
    error = assert_error(await client.post("/v1/events", headers=auth(key), json=events), 422, "invalid_events")
    assert sorted((d["index"], d["field"]) for d in error["details"]) == [
        (1, None), (2, "time"), (3, "data"), (3, "type")]


async def test_too_many_events_413(client, tenant):
    _, key, _ = tenant
    response = await client.post("/v1/events", headers=auth(key), json=[event(i) for i in range(51)])
    assert_error(response, 413, "too_many_events")
    ndjson = b"\n".join(orjson.dumps(event(i)) for i in range(51))
    response = await client.post("/v1/events", headers={**auth(key), "Content-Type": "application/x-ndjson"},
                                 content=ndjson)
    assert_error(response, 413, "too_many_events")


async def test_body_too_large_413(client, tenant):
    _, key, _ = tenant
    body = orjson.dumps([event(1, data={"pad": "x" * (70 * 1024)})])
    assert_error(await client.post("/v1/events", headers=auth(key), content=body), 413, "body_too_large")

    async def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(80):
            yield b" " * 1024

    response = await client.post("/v1/events", headers={**auth(key), "Content-Type": "application/json"},
                                 content=chunks())
    assert_error(response, 413, "body_too_large")


@pytest.mark.parametrize(("content", "ctype", "code", "status"), [
    (b"{not json", "application/json", "invalid_json", 422),
    (b'"a string"', "application/json", "invalid_body", 422),
    (b"[]", "application/json", "no_events", 422),
    (b'{"id":"1"}\n{oops\n', "application/x-ndjson", "invalid_json", 422),
    (b"id=1", "application/x-www-form-urlencoded", "unsupported_media_type", 415),
], ids=["malformed", "not-object", "empty", "ndjson-bad-line", "form"])
async def test_malformed_bodies(content, ctype, code, status, client, tenant):
    _, key, _ = tenant
    response = await client.post("/v1/events", headers={**auth(key), "Content-Type": ctype}, content=content)
    error = assert_error(response, status, code)
    if ctype == "application/x-ndjson":
        assert error["details"][0]["index"] == 1


async def test_unknown_route_has_the_same_error_shape(client):
    assert_error(await client.get("/v1/nothing"), 404, "not_found")
    assert_error(await client.get("/v1/events"), 405, "method_not_allowed")


# --- rate limit, health, metrics ------------------------------------------------------

async def test_rate_limit_429_with_retry_after(stack, engine, unique_slug):
    _, key, _ = await make_tenant(engine, unique_slug)
    _, other_key, _ = await make_tenant(engine, unique_slug + "o")
    manager, client = await serve(_with_ingest(stack, rate_limit_events_per_s=5, rate_limit_burst=20))
    try:
        assert (await client.post("/v1/events", headers=auth(key), json=[event(i) for i in range(15)])).status_code == 202
        response = await client.post("/v1/events", headers=auth(key), json=[event(i) for i in range(15, 25)])
        assert_error(response, 429, "rate_limited")
        assert int(response.headers["Retry-After"]) == 1  # 5 tokens short at 5/s
        # Another tenant has its own bucket.
        assert (await client.post("/v1/events", headers=auth(other_key), json=[event(1)])).status_code == 202
        await asyncio.sleep(1.05)
        assert (await client.post("/v1/events", headers=auth(key), json=[event(i) for i in range(15, 25)])).status_code == 202
    finally:
        await client.aclose()
        await manager.__aexit__(None, None, None)


async def test_in_flight_bound_answers_503_at_once(stack, tenant):
    _, key, _ = tenant
    manager, client = await serve(_with_ingest(stack, max_in_flight_requests=1))
    release = asyncio.Event()

    async def slow_body():
        yield orjson.dumps(event(1))[:10]
        await release.wait()
        yield orjson.dumps(event(1))[10:]

    try:
        first = asyncio.create_task(client.post("/v1/events", headers={**auth(key), "Content-Type": "application/json"},
                                                content=slow_body()))
        await asyncio.sleep(0.3)
        response = await client.post("/v1/events", headers=auth(key), json=event(2))
        assert_error(response, 503, "overloaded")
        assert response.headers["Retry-After"] == "1"
        release.set()
        assert (await first).status_code == 202
    finally:
        await client.aclose()
        await manager.__aexit__(None, None, None)


async def test_health_ready_and_metrics(client, tenant):
    _, key, _ = tenant
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    await client.post("/v1/events", headers=auth(key), json=[event(1), event(1)])
    await client.post("/v1/events", headers=auth("mlk_nope"), json=[event(1)])
    text = (await client.get("/metrics")).text
    for name in ["meterline_ingest_events_accepted_total", "meterline_ingest_events_rejected_total{reason=\"invalid_api_key\"}",
                 "meterline_ingest_request_seconds_bucket", "meterline_ingest_produce_seconds_bucket",
                 "meterline_ingest_in_flight_requests", "# TYPE meterline_ingest_producer_errors_total counter",
                 "meterline_ingest_events_duplicate_in_request_total"]:
        assert name in text, name
