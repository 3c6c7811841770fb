"""Payments and the corrections' history through the admin API (in-process ASGI), on real
PostgreSQL and localstripe: payments recorded from signed Stripe webhooks, corrections
applied by billing_jobs' invoice run; both paged by cursor, and neither visible to
another tenant.

The months are 2025's, which no other test invoices, and the subscription ends in them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timezone
from decimal import Decimal

import httpx
import pytest
from asgi_lifespan import LifespanManager

from billing_jobs.invoice_run import billable_tenants, invoice_tenant
from billing_jobs.plans import Plan
from meterline.bootstrap import api_app, pg_engine, pg_sync_engine, stripe_gateway
from meterline.settings import Settings
from metering import UsageDelta
from warehouse.postgres.billing_run import PgInvoiceRunStore
from warehouse.postgres.plans import cancel_subscription, get_plan, insert_plan, insert_subscription
from warehouse.postgres.tenants import get_tenant
from warehouse.postgres.usage import add_corrections, add_usage

pytestmark = pytest.mark.integration
D = Decimal


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
async def client(stack: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = api_app(stack)
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://api.test") as http:
            yield http


async def register(client: httpx.AsyncClient, slug: str) -> tuple[uuid.UUID, dict[str, str]]:
    response = await client.post("/v1/tenants", json={"slug": slug, "name": slug, "owner_email": f"owner@{slug}.example",
                                                      "owner_password": "correct horse battery"})
    assert response.status_code == 201, response.text
    body = response.json()
    return uuid.UUID(body["tenant"]["id"]), {"Authorization": f"Bearer {body['access_token']['access_token']}"}


async def subscribe_and_use(stack: Settings, tenant_id: uuid.UUID, slug: str) -> None:
    plan = Plan.model_validate({"slug": f"hist-{slug}", "name": "History", "currency": "EUR", "flat_fee": "10.00",
                                "charges": [{"meter_slug": "api", "model": "unit", "unit_price": "0.01"}]})
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant_id, plan_id, started_at=at(3, 1))
        await cancel_subscription(conn, tenant_id, at(5, 1), now=at(5, 1))
        await add_usage(conn, tenant_id, [("api", at(3, 10), UsageDelta(D(100), 100))])
    await engine.dispose()


def invoice(stack: Settings, tenant_id: uuid.UUID, month: int):
    store = PgInvoiceRunStore(pg_sync_engine(stack))
    start, end = date(2025, month, 1), date(2025, month + 1, 1)
    spans = billable_tenants(store, start, end, tenants=[str(tenant_id)])[str(tenant_id)]
    return invoice_tenant(store=store, payments=stripe_gateway(stack), tenant_id=str(tenant_id), spans=spans,
                          period_start=start, period_end=end, now=datetime.now(timezone.utc))


async def late(stack: Settings, tenant_id: uuid.UUID, number: str, window: datetime, quantity: int) -> None:
    """Late usage for an issued invoice's hour, as the stream's PostgreSQL sink writes it."""
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await add_usage(conn, tenant_id, [("api", window, UsageDelta(D(quantity), quantity))])
        await add_corrections(conn, tenant_id, [(number, "api", window, D(quantity), quantity, "delta")])
    await engine.dispose()


async def stripe_event(client: httpx.AsyncClient, stack: Settings, type_: str, obj: dict) -> str:
    body = json.dumps({"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": type_,
                       "created": int(time.time()), "data": {"object": obj}}).encode()
    now = int(time.time())
    secret = stack.stripe.webhook_secret.get_secret_value().encode()
    signature = f"t={now},v1={hmac.new(secret, b'%d.%s' % (now, body), hashlib.sha256).hexdigest()}"
    response = await client.post("/webhooks/stripe", content=body,
                                 headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()["outcome"]


async def pages(client: httpx.AsyncClient, path: str, auth: dict, key: str, limit: int, **params) -> list[list[dict]]:
    found, cursor = [], None
    while True:
        response = await client.get(path, headers=auth, params={"limit": limit, **params,
                                                                 **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        found.append(response.json()[key])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


async def test_payments_and_corrections_history_per_tenant(stack, client, unique_slug):
    tenant_a, auth_a = await register(client, unique_slug)
    tenant_b, auth_b = await register(client, unique_slug + "b")
    await subscribe_and_use(stack, tenant_a, unique_slug)
    march = invoice(stack, tenant_a, 3)
    assert march.total_minor == 1000 + 100

    # Payments, as Stripe's webhooks report them: a declined attempt, then two that went through.
    engine = pg_engine(stack)
    async with engine.connect() as conn:
        customer_a = (await get_tenant(conn, tenant_a)).stripe_customer_id
        customer_b = (await get_tenant(conn, tenant_b)).stripe_customer_id
        store = PgInvoiceRunStore(pg_sync_engine(stack))
        stripe_id = store.get(str(tenant_a), march.number).stripe_invoice_id
    await engine.dispose()
    assert await stripe_event(client, stack, "invoice.payment_failed", {
        "id": stripe_id, "customer": customer_a, "charge": f"ch_{unique_slug}_1", "amount_due": 1100}) != "duplicate"
    for n in (2, 3):
        await stripe_event(client, stack, "invoice.paid", {"id": stripe_id, "customer": customer_a,
                                                          "charge": f"ch_{unique_slug}_{n}", "amount_paid": 1100})
    listed = await pages(client, "/v1/payments", auth_a, "payments", limit=2)
    assert [len(page) for page in listed] == [2, 1]
    payments = [p for page in listed for p in page]
    # A failed attempt's id carries its event's (billing_jobs/stripe/webhooks.py): each attempt is its own.
    assert sorted((p["stripe_payment_id"].split(":")[0], p["status"]) for p in payments) == [
        (f"ch_{unique_slug}_1", "failed"), (f"ch_{unique_slug}_2", "succeeded"), (f"ch_{unique_slug}_3", "succeeded")]
    assert {(p["invoice_number"], p["amount_minor"], p["currency"]) for p in payments} == {(march.number, 1100, "EUR")}
    assert [p["created_at"] for p in payments] == sorted((p["created_at"] for p in payments), reverse=True)
    one = await client.get(f"/v1/payments/{payments[0]['id']}", headers=auth_a)
    assert one.status_code == 200 and one.json() == payments[0]

    # Corrections: late usage of March, applied by April's invoice; then more, still pending.
    await late(stack, tenant_a, march.number, at(3, 20, 5), 40)
    april = invoice(stack, tenant_a, 4)
    assert [amount for _, amount in april.lines] == [1000, 0, 40]  # fee, April's usage, March's 40 late calls
    await late(stack, tenant_a, march.number, at(3, 21, 6), 7)
    history = [c for page in await pages(client, "/v1/corrections", auth_a, "corrections", limit=1) for c in page]
    assert [(c["state"], c["invoice_number"], c["applied_invoice_number"], D(c["quantity"]), c["event_count"])
            for c in history] == [("pending", march.number, None, D(7), 7),
                                  ("applied", march.number, april.number, D(40), 40)]
    applied = (await client.get("/v1/corrections", headers=auth_a, params={"state": "applied"})).json()
    assert [c["id"] for c in applied["corrections"]] == [history[1]["id"]]
    pending = (await client.get("/v1/corrections", headers=auth_a, params={"state": "pending"})).json()
    assert [c["id"] for c in pending["corrections"]] == [history[0]["id"]]

    # Another tenant: its own lists are empty, A's ids are unknown to it; cursors of another list are refused.
    assert (await client.get("/v1/payments", headers=auth_b)).json() == {"payments": [], "next_cursor": None}
    assert (await client.get("/v1/corrections", headers=auth_b)).json() == {"corrections": [], "next_cursor": None}
    assert (await client.get(f"/v1/payments/{payments[0]['id']}", headers=auth_b)).status_code == 404
    assert (await client.get(f"/v1/invoices/{march.number}", headers=auth_b)).status_code == 404
    assert await stripe_event(client, stack, "invoice.paid", {
        "id": stripe_id, "customer": customer_b, "charge": f"ch_{unique_slug}_b", "amount_paid": 1}) == "unknown invoice"
    assert (await client.get("/v1/payments", headers=auth_b)).json()["payments"] == []
    first_page = (await client.get("/v1/corrections", headers=auth_a, params={"limit": 1})).json()
    wrong = await client.get("/v1/payments", headers=auth_a, params={"cursor": first_page["next_cursor"]})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "cursor"
    assert (await client.get("/v1/corrections", headers=auth_a, params={"cursor": "bm90LWEtY3Vyc29y"})).status_code == 422
