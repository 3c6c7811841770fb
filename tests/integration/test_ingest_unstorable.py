"""Inputs the stores cannot hold are refused by the running ingest process (issue 11).

Against the real ingest process of the test stack, real Kafka and PostgreSQL: each
refused request answers 422 naming index, field and reason, and nothing of it reaches
the events topic; the meter choices (allow_negative) come from the meter table.
"""

from __future__ import annotations

import uuid

import httpx
import orjson
import pytest
from sqlalchemy import insert

from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from tests.integration.test_ingest import all_events, end_offsets, read_packs
from warehouse.postgres.api_keys import create_api_key
from warehouse.postgres.tables import meter
from warehouse.postgres.tenants import insert_tenant

pytestmark = pytest.mark.integration

# (slug, event_type, aggregation, value_path, group_by, allow_negative)
METERS = [
    ("tokens", "llm.completion", "SUM", "tokens", ["region"], False),
    ("credits", "credit.adjustment", "SUM", "amount", [], True),
]


async def seed_tenant(settings: Settings, slug: str) -> tuple[uuid.UUID, str]:
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            record, _ = await insert_tenant(conn, slug=slug, name=slug, owner_email=f"{slug}@example.com",
                                            owner_password_hash="x")
            _, key = await create_api_key(conn, record.id, "unstorable test")
            for meter_slug, event_type, aggregation, value_path, group_by, allow_negative in METERS:
                await conn.execute(insert(meter).values(
                    tenant_id=record.id, slug=meter_slug, event_type=event_type, aggregation=aggregation,
                    value_path=value_path, group_by=group_by, allow_negative=allow_negative))
    finally:
        await engine.dispose()
    return record.id, key


@pytest.fixture(scope="module")
async def tenant(ingest_service: Settings) -> tuple[uuid.UUID, str]:
    return await seed_tenant(ingest_service, "t" + uuid.uuid4().hex[:10])


def event(i: int | str, **changes) -> dict:
    body = {"specversion": "1.0", "id": f"ev-{i}", "source": "test", "type": "llm.completion",
            "subject": "customer-1", "data": {"tokens": 10, "region": "eu"}}
    body.update(changes)
    return body


async def post(settings: Settings, key: str, content: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest.port}", timeout=30) as client:
        return await client.post("/v1/events", content=content,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# Raw JSON text, so that escapes arrive exactly as a client writes them.
REFUSED = [
    ("nul-id", [event(0), event(1, id="nul\u0000id")], 1, "id"),
    ("nul-subject", [event(0, subject="a\u0000b")], 0, "subject"),
    ("nul-type", [event(0), event(1), event(2, type="llm\u0000x")], 2, "type"),
    ("nul-source", [event(0, source="\u0000")], 0, "source"),
    ("control-in-group-by", [event(0, data={"tokens": 1, "region": "eu\u001b[0m"})], 0, "data.region"),
    ("newline-in-group-by", [event(0, data={"tokens": 1, "region": "eu\n"})], 0, "data.region"),
    ("1e40-on-sum-meter", [event(0, data={"tokens": 1e40, "region": "eu"})], 0, "data.tokens"),
    ("negative-without-allow-negative", [event(0), event(1, data={"tokens": -5, "region": "eu"})], 1, "data.tokens"),
]


@pytest.mark.parametrize(("events", "index", "field"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_refused_with_index_field_and_reason_and_nothing_produced(events, index, field, ingest_service, tenant):
    settings = ingest_service
    tenant_id, key = tenant
    start = await end_offsets(settings)
    response = await post(settings, key, orjson.dumps(events))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_events"
    [detail] = error["details"]
    assert (detail["index"], detail["field"]) == (index, field)
    assert detail["reason"]
    assert not await read_packs(settings, start, tenant_id, 0, timeout_s=1)


async def test_negative_value_accepted_where_the_meter_allows_it(ingest_service, tenant):
    settings = ingest_service
    tenant_id, key = tenant
    start = await end_offsets(settings)
    events = [event("refund", type="credit.adjustment", data={"amount": -12.5}),
              event("free-text", data={"tokens": 3, "region": "eu", "note": "line 1\nline 2\t!"})]
    response = await post(settings, key, orjson.dumps(events))
    assert response.status_code == 202, response.text
    arrived = {e["id"]: e for e in all_events(await read_packs(settings, start, tenant_id, 2))}
    assert arrived["ev-refund"]["data"] == {"amount": -12.5}
    assert arrived["ev-free-text"]["data"]["note"] == "line 1\nline 2\t!"


@pytest.mark.parametrize("depth", [5_000, 200, 33])
async def test_deep_nesting_is_a_422_and_the_process_stays_up(depth, ingest_service, tenant):
    settings = ingest_service
    tenant_id, key = tenant
    start = await end_offsets(settings)
    body = ('[{"specversion":"1.0","id":"deep","source":"s","type":"x","subject":"s","data":'
            + nested(depth) + "}]").encode()
    response = await post(settings, key, body)
    assert response.status_code == 422, response.text
    [detail] = response.json()["error"]["details"]
    assert "deep" in detail["reason"]
    if depth < 1_000:  # within what a JSON parser reads, the event and field are named
        assert (detail["index"], detail["field"]) == (0, "data")
    # Still serving, and nothing of the request reached the topic.
    assert (await post(settings, key, orjson.dumps([event(f"after-{depth}")]))).status_code == 202
    arrived = all_events(await read_packs(settings, start, tenant_id, 1))
    assert [e["id"] for e in arrived] == [f"ev-after-{depth}"]


async def test_allow_negative_set_through_the_admin_api_is_enforced_by_ingest(ingest_service):
    """POST /v1/meters (the admin API, in-process, on the real database) to the running ingest."""
    from asgi_lifespan import LifespanManager

    from api.app import create_app

    settings = ingest_service
    slug = "t" + uuid.uuid4().hex[:10]
    async with LifespanManager(create_app(settings)) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://api") as api:
            registered = await api.post("/v1/tenants", json={"slug": slug, "name": slug, "owner_password":
                                                             "correct horse battery", "owner_email": f"o@{slug}.test"})
            assert registered.status_code == 201, registered.text
            body = registered.json()
            headers = {"Authorization": f"Bearer {body['access_token']['access_token']}"}
            for meter_slug, event_type, allow_negative in (("balance", "balance.delta", True),
                                                           ("usage", "usage.delta", False)):
                created = await api.post("/v1/meters", headers=headers, json={
                    "slug": meter_slug, "event_type": event_type, "aggregation": "SUM", "value_path": "delta",
                    "allow_negative": allow_negative})
                assert created.status_code == 201, created.text
            refused = await api.post("/v1/meters", headers=headers, json={
                "slug": "calls", "event_type": "call", "aggregation": "COUNT", "allow_negative": True})
            assert refused.status_code == 422, refused.text
    key = body["api_key"]["key"]
    accepted = await post(settings, key, orjson.dumps([event("b", type="balance.delta", data={"delta": -3})]))
    assert accepted.status_code == 202, accepted.text
    refused = await post(settings, key, orjson.dumps([event("u", type="usage.delta", data={"delta": -3})]))
    assert refused.status_code == 422, refused.text
    assert [(d["index"], d["field"]) for d in refused.json()["error"]["details"]] == [(0, "data.delta")]
