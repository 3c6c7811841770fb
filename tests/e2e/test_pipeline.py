"""The whole pipeline as a user drives it: HTTP in, stream, flows, HTTP out.

Ingest, the stream worker and the admin API run as their own processes against real
Kafka, PostgreSQL, chDB, localstripe and Prefect.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from flows.invoicing import generate_invoices
from tests.support.operators import operator_headers_sync
from meterline.bootstrap import pg_engine
from warehouse.postgres.usage import usage_hours

pytestmark = pytest.mark.e2e

CALL_PRICE = Decimal("0.004")
TOKEN_PRICE = Decimal("0.0003")


@pytest.fixture(scope="module")
def services(stream_worker, ingest_service, api_service):
    settings = api_service
    return (settings,
            httpx.Client(base_url=f"http://127.0.0.1:{settings.api.port}", timeout=30),
            httpx.Client(base_url=f"http://127.0.0.1:{settings.ingest.port}", timeout=30))


def _register(api: httpx.Client, slug: str) -> tuple[dict, dict]:
    response = api.post("/v1/tenants", json={"slug": slug, "name": slug, "owner_email": f"owner@{slug}.example",
                                              "owner_password": "correct horse battery"})
    assert response.status_code == 201, response.text
    body = response.json()
    auth = {"Authorization": f"Bearer {body['access_token']['access_token']}"}
    for meter in ({"slug": "calls", "event_type": "api.call", "aggregation": "COUNT"},
                  {"slug": "tokens", "event_type": "llm.completion", "aggregation": "SUM", "value_path": "usage.tokens"}):
        assert api.post("/v1/meters", headers=auth, json=meter).status_code == 201
    return body, auth


def _send(ingest: httpx.Client, key: str, events: list[dict]) -> dict:
    response = ingest.post("/v1/events", json=events, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 202, response.text
    return response.json()


def _usage_total(api: httpx.Client, auth: dict, meter: str, start: datetime, end: datetime) -> Decimal:
    response = api.get("/v1/usage", headers=auth, params={"meter": meter, "from": start.isoformat(), "to": end.isoformat()})
    assert response.status_code == 200, response.text
    return Decimal(response.json()["total_quantity"])


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_events_over_http_are_counted_once_and_invoiced_exactly(services, unique_slug):
    settings, api, ingest = services
    operator = operator_headers_sync(str(api.base_url), settings, "finance")
    plan_slug = f"e2e-{unique_slug}"
    assert api.post("/v1/plans", headers=operator, json={
        "slug": plan_slug, "name": "E2E", "currency": "USD", "flat_fee": "20.00",
        "charges": [{"model": "unit", "meter_slug": "calls", "unit_price": str(CALL_PRICE)},
                    {"model": "unit", "meter_slug": "tokens", "unit_price": str(TOKEN_PRICE)}],
    }).status_code == 201
    a, auth_a = _register(api, unique_slug + "-a")
    b, auth_b = _register(api, unique_slug + "-b")
    started = {}
    for name, auth in (("a", auth_a), ("b", auth_b)):
        response = api.post("/v1/subscriptions", headers=auth, json={"plan_slug": plan_slug})
        assert response.status_code == 201
        started[name] = datetime.fromisoformat(response.json()["started_at"])

    # Usage after the subscriptions started (the invoice bills from the start on).
    now = datetime.now(timezone.utc)
    at = now.isoformat()

    def call(i: str, subject: str = "u1") -> dict:
        return {"id": i, "source": "e2e", "type": "api.call", "subject": subject, "time": at, "data": {}}

    def completion(i: str, tokens: int) -> dict:
        return {"id": i, "source": "e2e", "type": "llm.completion", "subject": "u2", "time": at,
                "data": {"usage": {"tokens": tokens}}}

    # Tenant A and B interleaved; A repeats an id within a request and across requests.
    first = _send(ingest, a["api_key"]["key"], [call("a1"), call("a2"), call("a1"), completion("a3", 100)])
    assert first["accepted"] == 3
    _send(ingest, b["api_key"]["key"], [call("a1"), call("b2", "u9"), completion("b3", 7)])
    # A tenant cannot write into another: the tenant comes from the key, not the body.
    _send(ingest, a["api_key"]["key"], [{**call("a4"), "tenant_id": b["tenant"]["id"]}, call("a2", "u5")])
    _send(ingest, b["api_key"]["key"], [completion("b3", 7), completion("b4", 5)])
    # A value that is not a number: a dead letter of A's, counted in no total.
    _send(ingest, a["api_key"]["key"], [{**completion("a5", 0), "data": {"usage": {"tokens": "lots"}}}])
    sent = {"a": {"calls": 3, "tokens": 100}, "b": {"calls": 2, "tokens": 12}}

    start, end = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0), now + timedelta(hours=1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = {name: {m: _usage_total(api, auth, m, start, end) for m in ("calls", "tokens")}
                for name, auth in (("a", auth_a), ("b", auth_b))}
        if seen == sent:
            break
        time.sleep(0.5)
    # ClickHouse, through the admin API:
    assert seen == sent

    # The tenant schemas in PostgreSQL:
    async def pg_totals(tenant_id) -> dict:
        engine = pg_engine(settings)
        try:
            async with engine.connect() as conn:
                return {m: sum((q for _, q, _ in await usage_hours(conn, tenant_id, m, start, end)), Decimal(0))
                        for m in ("calls", "tokens")}
        finally:
            await engine.dispose()

    for name, body in (("a", a), ("b", b)):
        assert asyncio.run(pg_totals(uuid.UUID(body["tenant"]["id"]))) == sent[name]

    # The invoices, as of the month's close: the period guard bills closed months only, and
    # these subscriptions and events are of the month under way.
    month_closes = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    generate_invoices(period=now.strftime("%Y-%m"), now=month_closes)
    for name, auth in (("a", auth_a), ("b", auth_b)):
        invoices = api.get("/v1/invoices", headers=auth).json()
        assert len(invoices) == 1
        # The flat fee is prorated from the subscription's start to the period's end, by whole seconds.
        period_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        period_end = (period_start + timedelta(days=32)).replace(day=1)
        fee = Decimal("20.00") * int((period_end - started[name]).total_seconds()) / int((period_end - period_start).total_seconds())
        expected = _cents(fee) + _cents(sent[name]["calls"] * CALL_PRICE) + _cents(sent[name]["tokens"] * TOKEN_PRICE)
        assert invoices[0]["total_minor"] == expected
        assert invoices[0]["status"] == "paid"
    generate_invoices(period=now.strftime("%Y-%m"), now=month_closes)  # a rerun creates nothing new
    assert len(api.get("/v1/invoices", headers=auth_a).json()) == 1

    # Isolation: A's JWT sees none of B's invoices, usage or meters.
    b_number = api.get("/v1/invoices", headers=auth_b).json()[0]["number"]
    assert api.get(f"/v1/invoices/{b_number}", headers=auth_a).status_code == 404
    assert all(i["number"] != b_number for i in api.get("/v1/invoices", headers=auth_a).json())
    assert _usage_total(api, auth_a, "calls", start, end) == sent["a"]["calls"]
    b_keys = api.get("/v1/api-keys", headers=auth_b).json()
    assert api.delete(f"/v1/api-keys/{b_keys[0]['id']}", headers=auth_a).status_code == 404
    # What the stream dropped, per tenant: A's bad value and A's and B's repeated ids.
    dead_a = api.get("/v1/stream/dead-letters", headers=auth_a).json()
    assert [(d["event_id"], d["meter_slug"]) for d in dead_a] == [("a5", "tokens")]
    assert api.get("/v1/stream/dead-letters", headers=auth_b).json() == []
    for auth in (auth_a, auth_b):  # a2 (A) and b3 (B) came twice in separate requests
        assert sum(d["duplicates"] for d in api.get("/v1/stream/duplicates", headers=auth).json()) == 1
    # Beside them, the duplicate whose content differed: A's a2 came back with another subject.
    conflicts_a = api.get("/v1/stream/duplicates/conflicts", headers=auth_a).json()
    assert [c["event_id"] for c in conflicts_a] == ["a2"]
    assert conflicts_a[0]["first_digest"] != conflicts_a[0]["duplicate_digest"]
    assert api.get("/v1/stream/duplicates/conflicts", headers=auth_b).json() == []  # b3 came back identical
    # B's key still works after A tried to revoke it.
    _send(ingest, b["api_key"]["key"], [call(uuid.uuid4().hex)])
