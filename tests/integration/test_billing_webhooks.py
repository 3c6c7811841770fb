"""`POST /webhooks/stripe` on real PostgreSQL, with payloads signed by the webhook secret.

The signature check is the real one (stripe.Webhook.construct_event in the
adapter); the test signs exactly as Stripe and localstripe do:
`Stripe-Signature: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from api.errors import install_error_handlers
from api.webhooks import router
from billing_jobs.invoicing import compose_invoice
from billing_jobs.plans import Plan
from meterline.bootstrap import api_wiring, pg_engine, pg_sync_engine
from tests.support.tenants import create_tenant
from warehouse.postgres.billing_tables import billing_webhook_event
from warehouse.postgres.invoices import PgInvoiceStore
from warehouse.postgres.tables import payment
from warehouse.postgres.tenants import get_tenant, set_stripe_customer

pytestmark = pytest.mark.integration

PLAN = Plan.model_validate({"slug": "wh", "name": "WH", "currency": "USD", "flat_fee": "61.34"})


def sign(body: bytes, secret: str, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    return f"t={at},v1={hmac.new(secret.encode(), b'%d.%s' % (at, body), hashlib.sha256).hexdigest()}"


def event_body(type_: str, obj: dict, created: int | None = None, event_id: str | None = None) -> bytes:
    return json.dumps({"id": event_id or f"evt_{uuid.uuid4().hex}", "object": "event", "type": type_,
                       "created": created or int(time.time()), "data": {"object": obj}}).encode()


@pytest.fixture
async def client(stack):
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.state.wiring = api_wiring(stack)
    app.state.engine = pg_engine(stack)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http
    await app.state.engine.dispose()


@pytest.fixture
async def billed(stack, unique_slug):
    """A tenant with customer cus_<slug> and an open invoice in_<slug> of 61.34 USD."""
    tenant = await create_tenant(stack, unique_slug)
    customer_id, stripe_invoice_id = f"cus_{unique_slug}", f"in_{unique_slug}"
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await set_stripe_customer(conn, tenant.id, customer_id)
    await engine.dispose()
    store = PgInvoiceStore(pg_sync_engine(stack))
    draft = compose_invoice(tenant_slug=unique_slug, tenant_id=str(tenant.id), plan=PLAN, usage={},
                            period_start=date(2026, 10, 1), period_end=date(2026, 11, 1))
    store.create(str(tenant.id), draft)
    store.attach_stripe(str(tenant.id), draft.number, stripe_invoice_id, "open")
    return tenant, customer_id, stripe_invoice_id, store, draft.number


def secret(stack) -> str:
    return stack.stripe.webhook_secret.get_secret_value()


async def post(client, stack, body: bytes, signature: str | None = None):
    return await client.post("/webhooks/stripe", content=body,
                             headers={"Stripe-Signature": signature if signature is not None else sign(body, secret(stack)),
                                      "Content-Type": "application/json"})


def payments(stack, schema_name: str) -> list[tuple[str, int, str]]:
    engine = pg_sync_engine(stack)
    with engine.connect() as conn:
        rows = conn.execution_options(schema_translate_map={"tenant": schema_name}).execute(
            select(payment.c.stripe_payment_id, payment.c.amount_minor, payment.c.status)
            .order_by(payment.c.stripe_payment_id)).all()
    engine.dispose()
    return [tuple(row) for row in rows]


async def test_paid_event_marks_paid_once_and_a_replay_changes_nothing(client, stack, billed):
    tenant, customer_id, invoice_id, store, number = billed
    body = event_body("invoice.paid", {"id": invoice_id, "object": "invoice", "customer": customer_id,
                                       "charge": f"ch_{tenant.slug}", "amount_paid": 6134, "status": "paid"})
    first = await post(client, stack, body)
    assert first.status_code == 200 and first.json()["outcome"] == "paid"
    assert store.get(str(tenant.id), number).status == "paid"
    assert payments(stack, tenant.schema_name) == [(f"ch_{tenant.slug}", 6134, "succeeded")]
    # The same delivery again, freshly signed: recorded once, nothing changes.
    replay = await post(client, stack, body)
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    assert payments(stack, tenant.schema_name) == [(f"ch_{tenant.slug}", 6134, "succeeded")]


@pytest.mark.parametrize("kind", ["wrong-secret", "stale", "missing", "tampered", "not-json"])
async def test_bad_signatures_get_400_and_change_nothing(client, stack, billed, kind):
    tenant, customer_id, invoice_id, store, number = billed
    event_id = f"evt_{uuid.uuid4().hex}"
    body = event_body("invoice.paid", {"id": invoice_id, "customer": customer_id}, event_id=event_id)
    signature = {
        "wrong-secret": sign(body, "whsec_not_ours"),
        "stale": sign(body, secret(stack), at=int(time.time()) - 3600),
        "missing": "",
        "tampered": sign(body, secret(stack)),
        "not-json": sign(b"not json", secret(stack)),
    }[kind]
    if kind == "tampered":
        body = body.replace(b"invoice.paid", b"invoice.void")
    if kind == "not-json":
        body = b"not json"
    response = await post(client, stack, body, signature)
    assert response.status_code == 400, response.text
    assert store.get(str(tenant.id), number).status == "open"
    engine = pg_sync_engine(stack)
    with engine.connect() as conn:
        seen = conn.execute(select(func.count()).where(billing_webhook_event.c.event_id == event_id)).scalar_one()
    engine.dispose()
    assert seen == 0


async def test_out_of_order_failed_after_paid_ends_paid(client, stack, billed):
    tenant, customer_id, invoice_id, store, number = billed
    now = int(time.time())
    failed = event_body("invoice.payment_failed", {"id": invoice_id, "customer": customer_id, "charge": "ch_a",
                                                   "amount_due": 6134}, created=now - 60)
    paid = event_body("invoice.paid", {"id": invoice_id, "customer": customer_id, "charge": "ch_b",
                                       "amount_paid": 6134}, created=now - 30)
    assert (await post(client, stack, paid)).json()["outcome"] == "paid"
    assert (await post(client, stack, failed)).json()["outcome"] == "kept paid"
    assert store.get(str(tenant.id), number).status == "paid"
    # Both attempts are on record all the same.
    assert [status for _, _, status in payments(stack, tenant.schema_name)] == ["failed", "succeeded"]


async def test_refund_delivered_before_paid_ends_refunded(client, stack, billed):
    tenant, customer_id, invoice_id, store, number = billed
    refund = event_body("charge.refunded", {"id": "ch_r", "customer": customer_id, "invoice": invoice_id,
                                            "amount_refunded": 6134, "refunded": True})
    paid = event_body("invoice.paid", {"id": invoice_id, "customer": customer_id, "charge": "ch_r",
                                       "amount_paid": 6134})
    assert (await post(client, stack, refund)).json()["outcome"] == "refunded"
    assert (await post(client, stack, paid)).json()["outcome"] == "kept refunded"
    assert store.get(str(tenant.id), number).status == "refunded"


async def test_voided_invoice(client, stack, billed):
    tenant, customer_id, invoice_id, store, number = billed
    body = event_body("invoice.voided", {"id": invoice_id, "customer": customer_id, "status": "void"})
    assert (await post(client, stack, body)).json()["outcome"] == "void"
    assert store.get(str(tenant.id), number).status == "void"


async def test_customer_deleted_detaches_the_tenant(client, stack, billed):
    tenant, customer_id, *_ = billed
    body = event_body("customer.deleted", {"id": customer_id, "object": "customer", "deleted": True})
    assert (await post(client, stack, body)).json()["outcome"] == "customer detached"
    engine = pg_engine(stack)
    async with engine.connect() as conn:
        assert (await get_tenant(conn, tenant.id)).stripe_customer_id is None
    await engine.dispose()


async def test_unfollowed_and_unknown_events_are_acknowledged(client, stack, billed):
    _, customer_id, *_ = billed
    assert (await post(client, stack, event_body("customer.created", {"id": customer_id}))).json()["outcome"] == "ignored"
    unknown = event_body("invoice.paid", {"id": "in_nobody", "customer": "cus_nobody"})
    assert (await post(client, stack, unknown)).json()["outcome"] == "unknown customer"
