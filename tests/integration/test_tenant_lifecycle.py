"""A tenant's lifecycle against the real services: the admin API in process, the real ingest
server process, PostgreSQL and localstripe.

Suspension: ingest refuses the tenant's keys within seconds (its key cache's TTL), the
people still sign in and see why, the data stays, dunning does not lift an operator's
suspension, and resuming lets ingest accept again. Deletion: owner only, after an export,
with a grace period that can be cancelled; then the purge removes the schema, the keys and
the Stripe customer, and the invoices stay readable by finance operators.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
import stripe
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.subscriptions.deps import get_now
from billing_jobs.dunning import DunningAction
from billing_jobs.invoicing import compose_invoice
from billing_jobs.plans import Plan, UnitCharge
from meterline.bootstrap import pg_sync_engine, purge_due_tenants
from meterline.settings import Settings
from warehouse.postgres.audit import list_audit
from warehouse.clickhouse.client import open_clickhouse
from tests.support.admin_api import Clock, asgi_client, assert_error, bearer, login, register, signed_in
from tests.support.operators import operator_headers
from warehouse.postgres.billing_dunning import PgDunningStore
from warehouse.postgres.invoices import PgInvoiceStore

pytestmark = pytest.mark.integration

SECONDS_TO_TAKE_EFFECT = 15  # the ingest key cache's TTL (5 s by default) and a margin


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
async def client(stack: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(stack, {get_now: clock}) as http:
        yield http


@pytest.fixture(scope="module")
async def ingest(ingest_service: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest_service.ingest.port}", timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
async def roles(client: httpx.AsyncClient, stack: Settings) -> dict[str, dict[str, str]]:
    return {role: await operator_headers(client, stack, role) for role in ("finance", "sre")}


def event() -> dict:
    return {"specversion": "1.0", "id": f"lc-{uuid.uuid4().hex}", "source": "test", "type": "api.request",
            "subject": "customer-1", "data": {"n": 1}}


async def ingest_until(ingest: httpx.AsyncClient, key: str, status: int) -> tuple[httpx.Response, float]:
    """Post an event each 0.25 s until ingest answers `status`; the answer and the seconds it took."""
    started = time.monotonic()
    while True:
        response = await ingest.post("/v1/events", headers=bearer(key), json=event())
        waited = time.monotonic() - started
        if response.status_code == status or waited > SECONDS_TO_TAKE_EFFECT:
            assert response.status_code == status, f"after {waited:.1f} s: {response.status_code} {response.text}"
            return response, waited
        await asyncio.sleep(0.25)


# ---------------------------------------------------------------- suspension


async def test_suspension_refuses_ingest_within_seconds_keeps_the_data_and_resume_accepts_again(
        client, ingest, roles, pg):
    tenant = await register(client)
    tenant_id, key, owner = tenant["tenant"]["id"], tenant["api_key"]["key"], bearer(tenant)
    meter = await client.post("/v1/meters", headers=owner,
                              json={"slug": "api-calls", "event_type": "api.request", "aggregation": "COUNT"})
    assert meter.status_code == 201, meter.text
    assert (await ingest.post("/v1/events", headers=bearer(key), json=event())).status_code == 202

    suspended = await client.post(f"/v1/operator/tenants/{tenant_id}/suspend", headers=roles["sre"],
                                  json={"reason": "abusive traffic"})
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended", suspended.text
    refused, waited = await ingest_until(ingest, key, 403)
    error = refused.json()["error"]
    assert error["code"] == "tenant_suspended" and "abusive traffic" in error["message"], error
    print(f"suspension took effect at ingest after {waited:.2f} s")

    # The people still sign in and see why; their data is all there.
    owner_login = await login(client, tenant["owner"]["email"])
    assert owner_login.status_code == 200
    assert (owner_login.json()["tenant_status"], owner_login.json()["tenant_status_reason"]) == ("suspended",
                                                                                               "abusive traffic")
    standing = (await client.get("/v1/tenant", headers=owner)).json()
    assert standing["status"] == "suspended" and standing["suspended_by"] == "operator"
    assert [m["slug"] for m in (await client.get("/v1/meters", headers=owner)).json()] == ["api-calls"]
    viewer = await signed_in(client, pg, tenant_id, "viewer")
    assert (await client.get("/v1/tenant", headers=viewer)).json()["status"] == "suspended"

    resumed = await client.post(f"/v1/operator/tenants/{tenant_id}/resume", headers=roles["finance"])
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    _, waited = await ingest_until(ingest, key, 202)
    print(f"resumption took effect at ingest after {waited:.2f} s")
    assert (await login(client, tenant["owner"]["email"])).json()["tenant_status"] == "active"
    # Both changes are in the tenant's audit log, with the operator who made them.
    entries = [(e["action"], e["actor_kind"], e["details"].get("reason")) for e in await audit_of(client, owner)
               if e["action"].startswith("tenant.")]
    assert entries == [("tenant.resumed", "operator", None), ("tenant.suspended", "operator", "abusive traffic")]


async def audit_of(client, owner: dict[str, str]) -> list[dict]:
    answer = await client.get("/v1/audit", headers=owner)
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]


async def test_dunning_lifts_only_its_own_suspension(client, roles, stack):
    tenant = await register(client)
    tenant_id = tenant["tenant"]["id"]
    store = PgDunningStore(pg_sync_engine(stack))
    now = datetime.now(timezone.utc)
    number = f"ML-{uuid.uuid4().hex[:6]}"

    # An operator's suspension outlives a payment: dunning's reinstatement leaves it.
    assert (await client.post(f"/v1/operator/tenants/{tenant_id}/suspend", headers=roles["finance"],
                              json={"reason": "fraud review"})).status_code == 200
    await asyncio.to_thread(store.apply_step, tenant_id, DunningAction("reinstate", number, "reinstate", 30), now)
    standing = (await client.get("/v1/tenant", headers=bearer(tenant))).json()
    assert (standing["status"], standing["suspended_by"], standing["status_reason"]) == (
        "suspended", "operator", "fraud review")

    # Dunning's own suspension is lifted by dunning once paid.
    assert (await client.post(f"/v1/operator/tenants/{tenant_id}/resume", headers=roles["finance"])).status_code == 200
    other = f"ML-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(store.apply_step, tenant_id, DunningAction("suspend", other, "suspend", 22), now)
    standing = (await client.get("/v1/tenant", headers=bearer(tenant))).json()
    assert (standing["status"], standing["suspended_by"]) == ("suspended", "dunning")
    assert other in standing["status_reason"]
    await asyncio.to_thread(store.apply_step, tenant_id, DunningAction("reinstate", other, "reinstate", 25), now)
    assert (await client.get("/v1/tenant", headers=bearer(tenant))).json()["status"] == "active"
    # Dunning's changes are the platform's in the audit log; the reinstatement that changed nothing is not there.
    entries = [(e["action"], e["actor_kind"], e["details"].get("by"))
               for e in await audit_of(client, bearer(tenant)) if e["action"].startswith("tenant.")]
    assert entries == [("tenant.resumed", "system", "dunning"), ("tenant.suspended", "system", "dunning"),
                       ("tenant.resumed", "operator", "operator"), ("tenant.suspended", "operator", "operator")]


# ---------------------------------------------------------------- deletion


def store_invoice(stack: Settings, tenant_id: str, slug: str) -> str:
    plan = Plan(slug="pro", name="Pro", currency="USD", flat_fee=Decimal("49.00"),
                charges=[UnitCharge(meter_slug="api-calls", unit_price=Decimal("0.01"))])
    draft = compose_invoice(tenant_slug=slug, tenant_id=tenant_id, plan=plan, usage={"api-calls": Decimal(1234)},
                            period_start=date(2026, 3, 1), period_end=date(2026, 4, 1))
    sync_engine = pg_sync_engine(stack)
    try:
        return PgInvoiceStore(sync_engine).create(tenant_id, draft).number
    finally:
        sync_engine.dispose()


def clickhouse_events(stack: Settings, tenant_ids: list[str], insert_now: bool = False) -> dict[str, int]:
    """Raw events per tenant in ClickHouse; with insert_now, first one event for each tenant."""
    client = open_clickhouse(stack.clickhouse)
    try:
        if insert_now:
            at = datetime.now(timezone.utc)
            client.insert(f"{stack.clickhouse.database}.events",
                          [[uuid.UUID(t), "api.request", at, f"lc-{uuid.uuid4().hex}", "test", "c", "{}", at]
                           for t in tenant_ids],
                          column_names=["tenant_id", "type", "time", "id", "source", "subject", "data", "received_at"])
        return {t: int(client.query(f"SELECT count() FROM {stack.clickhouse.database}.events "
                                    "WHERE tenant_id = {tid:UUID}", parameters={"tid": t}).result_rows[0][0])
                for t in tenant_ids}
    finally:
        client.close()


async def schema_exists(pg: AsyncEngine, schema: str) -> bool:
    async with pg.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :s"),
                                   {"s": schema})).scalar_one() == 1


async def test_deletion_exports_waits_out_the_grace_period_then_purges_all_but_the_invoices(
        client, ingest, roles, pg, stack, clock):
    tenant = await register(client)
    tenant_id, slug, key, owner = (tenant["tenant"]["id"], tenant["tenant"]["slug"], tenant["api_key"]["key"],
                                   bearer(tenant))
    assert (await client.post("/v1/meters", headers=owner, json={
        "slug": "api-calls", "event_type": "api.request", "aggregation": "COUNT"})).status_code == 201
    number = await asyncio.to_thread(store_invoice, stack, tenant_id, slug)
    schema = f"tenant_{slug}"
    async with pg.connect() as conn:
        customer_id = (await conn.execute(text("SELECT stripe_customer_id FROM tenant WHERE id = :id"),
                                          {"id": tenant_id})).scalar_one()
    assert customer_id and await schema_exists(pg, schema)
    bystander = str(uuid.uuid4())  # another tenant's rows in ClickHouse, which must stay
    assert await asyncio.to_thread(clickhouse_events, stack, [tenant_id, bystander], True) == {
        tenant_id: 1, bystander: 1}

    # Owner only, and only after an export.
    admin = await signed_in(client, pg, tenant_id, "admin")
    assert_error(await client.post("/v1/tenant/deletion", headers=admin), 403)
    assert_error(await client.get("/v1/tenant/export", headers=admin), 403)
    assert_error(await client.post("/v1/tenant/deletion", headers=owner), 409, "export_required")
    exported = await client.get("/v1/tenant/export", headers=owner)
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    body = exported.json()
    assert body["tenant"]["slug"] == slug and [m["slug"] for m in body["meters"]] == ["api-calls"]
    [invoice] = body["invoices"]
    assert invoice["number"] == number and invoice["total_minor"] == 6134 and len(invoice["lines"]) == 2
    assert [k["name"] for k in body["api_keys"]] == ["default"] and key not in exported.text
    assert set(body["usage_windows"]) == {"hour", "day"}

    asked_at = datetime.now(timezone.utc)
    clock.now = asked_at
    scheduled = await client.post("/v1/tenant/deletion", headers=owner)
    assert scheduled.status_code == 202, scheduled.text
    purge_after = datetime.fromisoformat(scheduled.json()["purge_after"])
    assert scheduled.json()["status"] == "deleting" and purge_after == asked_at + timedelta(days=7)
    assert_error(await client.post("/v1/tenant/deletion", headers=owner), 409, "deletion_scheduled")
    refused, _ = await ingest_until(ingest, key, 403)
    assert "deletion scheduled" in refused.json()["error"]["message"]
    assert (await login(client, tenant["owner"]["email"])).json()["tenant_status"] == "deleting"

    # Cancelled within the grace period, asked again; past it, no cancelling.
    cancelled = await client.delete("/v1/tenant/deletion", headers=owner)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "active", cancelled.text
    assert_error(await client.delete("/v1/tenant/deletion", headers=owner), 409, "no_deletion_scheduled")
    assert (await client.post("/v1/tenant/deletion", headers=owner)).status_code == 202
    clock.now = purge_after + timedelta(minutes=1)
    assert_error(await client.delete("/v1/tenant/deletion", headers=owner), 409, "grace_period_over")
    clock.now = None
    actions = [e["action"] for e in await audit_of(client, owner) if e["action"].startswith("tenant.")]
    assert actions == ["tenant.deletion_requested", "tenant.deletion_cancelled", "tenant.deletion_requested",
                       "tenant.exported"]

    # Not purged before the grace period ends; purged after it.
    early = await asyncio.to_thread(purge_due_tenants, stack, purge_after - timedelta(minutes=1))
    assert tenant_id not in [o.tenant_id for o in early] and await schema_exists(pg, schema)
    purged = await asyncio.to_thread(purge_due_tenants, stack, purge_after + timedelta(minutes=1))
    [outcome] = [o for o in purged if o.tenant_id == tenant_id]
    assert (outcome.invoices_retained, outcome.stripe_customer_deleted) == (1, customer_id)
    again = await asyncio.to_thread(purge_due_tenants, stack, purge_after + timedelta(minutes=2))
    assert tenant_id not in [o.tenant_id for o in again]  # idempotent

    # The schema, the analytics rows, the keys, the people and the Stripe customer are gone.
    assert not await schema_exists(pg, schema)
    assert await asyncio.to_thread(clickhouse_events, stack, [tenant_id, bystander]) == {tenant_id: 0, bystander: 1}
    assert_error(await client.get("/v1/tenant", headers=owner), 401, "invalid_token")
    assert_error(await login(client, tenant["owner"]["email"]), 401)
    gone, _ = await ingest_until(ingest, key, 401)
    assert gone.json()["error"]["code"] == "invalid_api_key"
    stripe_v1 = stripe.StripeClient(stack.stripe.api_key.get_secret_value(),
                                    base_addresses={"api": stack.stripe_api_base}, max_network_retries=0).v1
    try:
        assert stripe_v1.customers.retrieve(customer_id).get("deleted") is True
    except stripe.InvalidRequestError as exc:
        assert exc.http_status == 404

    # The invoices stay, for finance (not for SREs, never for tenants).
    kept = await client.get("/v1/operator/retained-invoices", headers=roles["finance"], params={"tenant_id": tenant_id})
    assert kept.status_code == 200, kept.text
    [retained] = kept.json()["invoices"]
    assert (retained["number"], retained["tenant_slug"], retained["total_minor"]) == (number, slug, 6134)
    assert [line["amount_minor"] for line in retained["lines"]] == [line["amount_minor"] for line in invoice["lines"]]
    assert retained["retain_until"] == "2036-04-01"
    assert_error(await client.get("/v1/operator/retained-invoices", headers=roles["sre"]), 403)
    assert_error(await client.get("/v1/operator/retained-invoices", headers=owner), 401)
    # The audit log outlives the tenant: its last entry is the purge.
    async with pg.connect() as conn:
        last = (await list_audit(conn, uuid.UUID(tenant_id), 1))[0]
    assert (last.action, last.actor.kind, last.details["invoices_retained"]) == ("tenant.purged", "system", 1)


async def test_a_large_export_streams_in_batches_and_counts_only_when_downloaded_whole(client, pg):
    """12,000 hourly windows: the document comes in batches from a server-side cursor (one
    batch in memory at a time, not the whole document), holds every window in order, and a
    download cut short does not count as the export the deletion needs."""
    import orjson

    from api.tenant_lifecycle import service
    from warehouse.postgres.audit import Actor
    from warehouse.postgres.database import Database

    tenant = await register(client)
    tenant_id, slug, owner = tenant["tenant"]["id"], tenant["tenant"]["slug"], bearer(tenant)
    schema = f"tenant_{slug}"
    async with pg.begin() as conn:
        for table, step, count in (("usage_hourly", "1 hour", 12_000), ("usage_daily", "1 day", 500)):
            await conn.execute(text(
                f"INSERT INTO {schema}.{table} (meter_slug, window_start, group_key, quantity, event_count) "
                f"SELECT 'm' || (n % 3), timestamptz '2025-01-01 00:00+00' + (n / 3) * interval '{step}', "
                "'{\"customer\":\"c' || n || '\"}', n * 1.5, n FROM generate_series(1, :count) AS n"), {"count": count})
        expected = {table: (await conn.execute(text(
            f"SELECT meter_slug, window_start, group_key, quantity::text FROM {schema}.{table} "
            "ORDER BY meter_slug, window_start, group_key"))).all() for table in ("usage_hourly", "usage_daily")}

    # Cut short after its first batch of windows: nothing recorded, the deletion still refused.
    _, document = await service.export(Database(pg), uuid.UUID(tenant_id), datetime.now(timezone.utc), Actor("user"))
    head, hour_open, first_batch = [await anext(document) for _ in range(3)]
    assert hour_open == b'"hour":[' and first_batch.count(b'"meter_slug"') == 5_000
    await document.aclose()
    assert_error(await client.post("/v1/tenant/deletion", headers=owner), 409, "export_required")

    # Whole, over HTTP: every window, in order, as the database holds it; the deletion may follow.
    _, document = await service.export(Database(pg), uuid.UUID(tenant_id), datetime.now(timezone.utc), Actor("user"))
    # the head, '"hour":[', 3 batches of at most 5,000, ']', ',"day":[', 1 batch, ']', '}}'
    assert [chunk.count(b'"meter_slug"') for chunk in [c async for c in document]] == [0, 0, 5_000, 5_000, 2_000,
                                                                                         0, 0, 500, 0, 0]
    exported = await client.get("/v1/tenant/export", headers=owner)
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/json"
    body = orjson.loads(exported.content)
    for window, table in (("hour", "usage_hourly"), ("day", "usage_daily")):
        got = [(w["meter_slug"], datetime.fromisoformat(w["window_start"]), w["group_key"], w["quantity"])
               for w in body["usage_windows"][window]]
        assert got == [tuple(row) for row in expected[table]]
    assert (await client.post("/v1/tenant/deletion", headers=owner)).status_code == 202
