"""The admin API over HTTP (in-process ASGI) against real PostgreSQL and localstripe.

No client is mocked: registrations create real schemas and real Stripe customers,
which are then looked at directly (PostgreSQL through the warehouse functions,
Stripe through a raw StripeClient). Usage is served by the PostgreSQL reader
(`usage_hours`) in place of ClickHouse: the embedded chDB belongs to the stream
worker, which these tests do not run; both readers take the same Meter.
Each test registers fresh tenants (unique slugs), so tests share one database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import jwt
import pytest
import stripe
from asgi_lifespan import LifespanManager
from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from meterline.bootstrap import api_app
from api.auth import Principal, issue_access_token
from api.usage.deps import get_usage_reader
from api.usage.postgres_source import PostgresUsageReader
from billing_jobs.invoicing import compose_invoice
from billing_jobs.plans import Plan, UnitCharge
from meterline.bootstrap import pg_sync_engine
from meterline.settings import Settings
from metering import UsageDelta
from billing_jobs.webhooks import InvoiceChange, PaymentRecord
from warehouse.postgres.api_keys import find_key_owner
from warehouse.postgres.billing_history import list_payments
from warehouse.postgres.billing_webhooks import record_stripe_event
from warehouse.postgres.invoices import PgInvoiceStore
from warehouse.migrations.runner import tenant_head
from warehouse.postgres.tenants import get_tenant, get_tenant_by_slug
from warehouse.postgres.usage import add_corrections, add_usage
from tests.support.admin_api import PASSWORD, asgi_client, assert_error, bearer, login, register, signed_in
from tests.support.operators import bootstrap_headers, operator_headers

pytestmark = pytest.mark.integration

D = Decimal
DAY = datetime(2026, 3, 1, tzinfo=timezone.utc)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
async def client(stack: Settings) -> AsyncIterator[httpx.AsyncClient]:
    def postgres_reader(request: Request) -> PostgresUsageReader:
        return PostgresUsageReader(request.app.state.engine)

    async with asgi_client(stack, {get_usage_reader: postgres_reader}) as http:
        yield http


@pytest.fixture(scope="module")
def stripe_server(stack: Settings):
    return stripe.StripeClient(stack.stripe.api_key.get_secret_value(),
                               base_addresses={"api": stack.stripe_api_base}, max_network_retries=0).v1


def fresh_slug() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
async def finance(client: httpx.AsyncClient, stack: Settings) -> dict[str, str]:
    """A finance operator's headers: the role that writes the plan catalogue."""
    return await operator_headers(client, stack, "finance")


def new_plan_body(meter_slug: str = "api-calls") -> dict:
    return {"slug": "p" + uuid.uuid4().hex[:10], "name": "Pro", "currency": "USD", "flat_fee": "49.00",
            "charges": [{"model": "unit", "meter_slug": meter_slug, "unit_price": "0.01"}]}


# ---------------------------------------------------------------- service basics


async def test_health_and_openapi_docs(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/docs")).status_code == 200
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/v1/tenants", "/v1/auth/login", "/v1/api-keys", "/v1/meters", "/v1/plans", "/v1/subscriptions",
                 "/v1/subscriptions/current", "/v1/usage", "/v1/invoices", "/v1/invoices/{number}"):
        assert path in paths


async def test_unknown_route_uses_the_error_shape(client):
    assert_error(await client.get("/v1/nothing-here"), 404, "not_found")


# ---------------------------------------------------------------- registration


async def test_registration_creates_tenant_schema_owner_key_and_stripe_customer(client, pg, stripe_server):
    slug = fresh_slug()
    body = await register(client, slug, email=f"Owner@{slug}.Example")

    tenant, owner, key = body["tenant"], body["owner"], body["api_key"]
    assert tenant["slug"] == slug and tenant["status"] == "active"
    assert owner == {"id": owner["id"], "email": f"owner@{slug}.example", "role": "owner"}
    assert key["key"].startswith("mlk_") and key["prefix"] == key["key"][:12] and key["revoked_at"] is None
    assert body["access_token"]["token_type"] == "bearer" and body["access_token"]["expires_in"] == 30 * 60

    async with pg.connect() as conn:
        stored = await get_tenant(conn, uuid.UUID(tenant["id"]))
        schema_exists = (await conn.execute(
            text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :s"),
            {"s": stored.schema_name})).scalar_one()
        owner_of_key = await find_key_owner(conn, key["key"])
    assert schema_exists == 1
    assert owner_of_key is not None and str(owner_of_key.tenant_id) == tenant["id"]

    # The Stripe customer really exists on the server, tied to the tenant.
    assert tenant["stripe_customer_id"] and stored.stripe_customer_id == tenant["stripe_customer_id"]
    customer = stripe_server.customers.retrieve(tenant["stripe_customer_id"]).to_dict()
    assert customer["email"] == f"owner@{slug}.example"
    assert customer["name"] == f"Tenant {slug}"
    assert customer["metadata"] == {"meterline_tenant_id": tenant["id"]}

    # The key's plaintext is shown once: listings carry only its prefix.
    listed = (await client.get("/v1/api-keys", headers=bearer(body))).json()
    assert listed == [{k: v for k, v in key.items() if k != "key"}]
    assert key["key"] not in (await client.get("/v1/api-keys", headers=bearer(body))).text

    # The returned token works at once.
    assert (await client.get("/v1/meters", headers=bearer(body))).json() == []


async def test_duplicate_slug_is_409_and_creates_nothing(client, pg):
    first = await register(client)
    slug = first["tenant"]["slug"]
    response = await client.post("/v1/tenants", json={
        "slug": slug, "name": "Impostor", "owner_email": f"other@{slug}.example", "owner_password": PASSWORD})
    error = assert_error(response, 409, "slug_taken")
    assert slug in error["message"]
    assert error["details"] == [{"field": "slug", "location": "body", "reason": "already taken"}]
    assert (await login(client, f"other@{slug}.example")).status_code == 401


async def test_concurrent_registrations_in_one_process_all_succeed(client, pg):
    """Each registration migrates its new schema with Alembic, whose context is process-global;
    they used to run inside one another's and all answer 500."""
    registrations = await asyncio.gather(*(register(client) for _ in range(6)))
    schemas = {r["tenant"]["slug"]: r for r in registrations}
    assert len(schemas) == 6
    async with pg.connect() as conn:
        for registration in registrations:
            tenant = await get_tenant(conn, uuid.UUID(registration["tenant"]["id"]))
            version = (await conn.execute(text(f'SELECT version_num FROM "{tenant.schema_name}".alembic_version'))
                       ).scalar_one()
            assert version == tenant_head()
    for registration in registrations:
        assert (await client.get("/v1/meters", headers=bearer(registration))).status_code == 200


async def test_duplicate_owner_email_is_409_and_creates_nothing(client, pg):
    first = await register(client)
    slug = fresh_slug()
    response = await client.post("/v1/tenants", json={
        "slug": slug, "name": "Second", "owner_email": first["owner"]["email"].upper(), "owner_password": PASSWORD})
    assert_error(response, 409, "email_taken")
    async with pg.connect() as conn:
        assert await get_tenant_by_slug(conn, slug) is None


async def test_registration_is_all_or_nothing_when_stripe_is_unreachable(client, stack, pg):
    # A real refused connection (nothing listens on port 9), not a mocked client.
    unreachable = stack.model_copy(update={"stripe": stack.stripe.model_copy(update={"api_base": "http://127.0.0.1:9"})})
    broken = api_app(unreachable)
    slug = fresh_slug()
    body = {"slug": slug, "name": "Acme", "owner_email": f"owner@{slug}.example", "owner_password": PASSWORD}
    async with LifespanManager(broken), httpx.AsyncClient(transport=httpx.ASGITransport(app=broken),
                                                          base_url="http://api.test") as http:
        assert_error(await http.post("/v1/tenants", json=body), 503, "payment_provider_unavailable")
    async with pg.connect() as conn:
        assert await get_tenant_by_slug(conn, slug) is None
        schemas = (await conn.execute(text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :s"),
                                      {"s": f"tenant_{slug}"})).scalar_one()
    assert schemas == 0
    # Nothing was left behind, so the same registration simply succeeds once Stripe answers.
    assert (await client.post("/v1/tenants", json=body)).status_code == 201

@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"slug": "Bad_Slug"}, "slug"),
        ({"slug": "9lives"}, "slug"),
        ({"slug": "a--b"}, "slug"),
        ({"slug": "x" * 41}, "slug"),
        ({"owner_password": "short"}, "owner_password"),
        ({"owner_email": "not-an-email"}, "owner_email"),
        ({"name": ""}, "name"),
    ],
    ids=["uppercase-underscore", "leading-digit", "double-hyphen", "too-long", "short-password", "bad-email",
         "empty-name"],
)
async def test_invalid_registration_is_422_naming_the_field(client, payload, field):
    slug = fresh_slug()
    body = {"slug": slug, "name": "Acme", "owner_email": f"o@{slug}.example", "owner_password": PASSWORD, **payload}
    error = assert_error(await client.post("/v1/tenants", json=body), 422, "validation_error")
    assert [d["field"] for d in error["details"]] == [field]
    assert error["details"][0]["location"] == "body" and error["details"][0]["reason"]


async def test_missing_fields_are_all_named(client):
    error = assert_error(await client.post("/v1/tenants", json={"slug": fresh_slug()}), 422)
    assert {d["field"] for d in error["details"]} == {"name", "owner_email", "owner_password"}


# ---------------------------------------------------------------- login and tokens


async def test_login_returns_a_token_with_the_users_tenant_and_role(client, stack):
    body = await register(client)
    response = await login(client, body["owner"]["email"].upper())
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    claims = jwt.decode(token, stack.jwt.secret.get_secret_value(), algorithms=["HS256"])
    assert claims["sub"] == body["owner"]["id"]
    assert claims["tenant_id"] == body["tenant"]["id"]
    assert claims["role"] == "owner"
    assert claims["exp"] - claims["iat"] == 30 * 60
    assert (await client.get("/v1/api-keys", headers=bearer(token))).status_code == 200


async def test_wrong_password_and_unknown_email_are_the_same_401(client):
    body = await register(client)
    wrong = assert_error(await login(client, body["owner"]["email"], "wrong password"), 401, "invalid_credentials")
    unknown = assert_error(await login(client, f"nobody-{uuid.uuid4().hex}@example.com"), 401, "invalid_credentials")
    assert wrong == unknown


async def test_missing_forged_and_expired_tokens_are_401(client, stack):
    body = await register(client)
    assert_error(await client.get("/v1/meters"), 401)
    assert_error(await client.get("/v1/meters", headers=bearer("not-a-jwt")), 401, "invalid_token")

    principal = Principal(uuid.UUID(body["owner"]["id"]), uuid.UUID(body["tenant"]["id"]), "owner", uuid.uuid4())
    forged = jwt.encode({"sub": str(principal.user_id), "tenant_id": str(principal.tenant_id), "role": "owner",
                         "exp": int((datetime.now(timezone.utc) + timedelta(minutes=5)).timestamp())},
                        "some-other-secret-of-sufficient-length-0123456789", algorithm="HS256")
    assert_error(await client.get("/v1/meters", headers=bearer(forged)), 401, "invalid_token")

    expired = issue_access_token(stack.jwt, principal, datetime.now(timezone.utc) - timedelta(hours=1))
    error = assert_error(await client.get("/v1/meters", headers=bearer(expired.token)), 401, "invalid_token")
    assert "expired" in error["message"]


# ---------------------------------------------------------------- roles


# The seed's roles (api/permissions.py; every route for every role: test_role_table.py).
@pytest.mark.parametrize(
    ("role", "can_define_meters", "can_keep_keys"),
    [("admin", True, True), ("manager", True, True), ("member", False, True), ("viewer", False, False)],
)
async def test_role_hierarchy(client, pg, role, can_define_meters, can_keep_keys):
    body = await register(client)
    headers = await signed_in(client, pg, body["tenant"]["id"], role)

    # Everyone signed in reads meters, plans, the subscription and invoices.
    assert (await client.get("/v1/meters", headers=headers)).status_code == 200
    assert (await client.get("/v1/plans", headers=headers)).status_code == 200
    assert (await client.get("/v1/invoices", headers=headers)).status_code == 200

    meter = await client.post("/v1/meters", headers=headers,
                              json={"slug": "api-calls", "event_type": "api.request", "aggregation": "COUNT"})
    keys = await client.get("/v1/api-keys", headers=headers)
    if can_define_meters:
        assert meter.status_code == 201
    else:
        assert "manager role" in assert_error(meter, 403, "forbidden")["message"]
    if can_keep_keys:
        assert keys.status_code == 200
    else:
        assert_error(keys, 403, "forbidden")


async def test_viewer_cannot_create_meters(client, pg):
    body = await register(client)
    viewer = await signed_in(client, pg, body["tenant"]["id"], "viewer")
    response = await client.post("/v1/meters", headers=viewer,
                                 json={"slug": "tokens", "event_type": "llm.call", "aggregation": "COUNT"})
    assert_error(response, 403, "forbidden")
    assert (await client.get("/v1/meters", headers=viewer)).json() == []


# ---------------------------------------------------------------- API keys


async def test_api_keys_create_list_revoke(client, pg):
    body = await register(client)
    owner = bearer(body)
    created = await client.post("/v1/api-keys", headers=owner, json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()
    assert key["name"] == "ci" and key["key"].startswith("mlk_")

    listed = (await client.get("/v1/api-keys", headers=owner)).json()
    assert [k["name"] for k in listed] == ["default", "ci"] and all("key" not in k for k in listed)

    assert (await client.delete(f"/v1/api-keys/{key['id']}", headers=owner)).status_code == 204
    assert_error(await client.delete(f"/v1/api-keys/{key['id']}", headers=owner), 404)
    assert_error(await client.delete(f"/v1/api-keys/{uuid.uuid4()}", headers=owner), 404)
    assert_error(await client.delete("/v1/api-keys/not-a-uuid", headers=owner), 422)
    async with pg.connect() as conn:
        assert await find_key_owner(conn, key["key"]) is None
        assert await find_key_owner(conn, body["api_key"]["key"]) is not None
    revoked = next(k for k in (await client.get("/v1/api-keys", headers=owner)).json() if k["id"] == key["id"])
    assert revoked["revoked_at"] is not None


# ---------------------------------------------------------------- meters


async def test_meters_create_and_list(client):
    headers = bearer(await register(client))
    count = await client.post("/v1/meters", headers=headers,
                              json={"slug": "api-calls", "event_type": "api.request", "aggregation": "COUNT"})
    total = await client.post("/v1/meters", headers=headers, json={
        "slug": "tokens", "event_type": "llm.call", "aggregation": "SUM", "value_path": "usage.tokens"})
    assert count.status_code == total.status_code == 201
    assert (await client.get("/v1/meters", headers=headers)).json() == [
        {"slug": "api-calls", "event_type": "api.request", "aggregation": "COUNT", "value_path": None, "group_by": []},
        {"slug": "tokens", "event_type": "llm.call", "aggregation": "SUM", "value_path": "usage.tokens",
         "group_by": []},
    ]
    again = await client.post("/v1/meters", headers=headers,
                              json={"slug": "api-calls", "event_type": "other", "aggregation": "COUNT"})
    assert_error(again, 409, "meter_exists")


@pytest.mark.parametrize(
    "payload",
    [
        {"slug": "m", "event_type": "e", "aggregation": "SUM"},
        {"slug": "m", "event_type": "e", "aggregation": "COUNT", "value_path": "x"},
        {"slug": "m", "event_type": "e", "aggregation": "SUM", "value_path": "a..b"},
        {"slug": "m", "event_type": "e", "aggregation": "MEDIAN"},
        {"slug": "Bad Slug", "event_type": "e", "aggregation": "COUNT"},
    ],
    ids=["sum-without-path", "count-with-path", "bad-path", "unknown-aggregation", "bad-slug"],
)
async def test_invalid_meter_is_422(client, payload):
    headers = bearer(await register(client))
    error = assert_error(await client.post("/v1/meters", headers=headers, json=payload), 422, "validation_error")
    assert error["details"] and all(d["reason"] for d in error["details"])


# ---------------------------------------------------------------- plans and subscriptions


async def test_plans_need_a_finance_operator_to_create(client, stack, finance):
    tenant = await register(client)
    plan = new_plan_body()
    assert_error(await client.post("/v1/plans", json=plan), 401)
    assert_error(await client.post("/v1/plans", json=plan, headers=bearer(tenant)), 401, "invalid_token")  # even an owner
    assert_error(await client.post("/v1/plans", json=plan, headers=bearer("wrong-operator-token")), 401)
    # The static token is only a bootstrap now, and an SRE does not set prices.
    assert_error(await client.post("/v1/plans", json=plan, headers=bootstrap_headers(stack)), 401)
    assert_error(await client.post("/v1/plans", json=plan, headers=await operator_headers(client, stack, "sre")), 403)

    created = await client.post("/v1/plans", json=plan, headers=finance)
    assert created.status_code == 201, created.text
    assert created.json()["flat_fee"] == "49.00" and created.json()["charges"][0]["unit_price"] == "0.01"
    assert_error(await client.post("/v1/plans", json=plan, headers=finance), 409, "plan_exists")

    listed = (await client.get("/v1/plans", headers=bearer(tenant))).json()
    assert plan["slug"] in [p["slug"] for p in listed]
    assert_error(await client.get("/v1/plans"), 401)


async def test_plan_with_a_float_price_is_422(client, finance):
    plan = {**new_plan_body(), "flat_fee": 49.99}
    error = assert_error(await client.post("/v1/plans", json=plan, headers=finance), 422)
    assert error["details"][0]["field"] == "flat_fee"
    assert "float" in error["details"][0]["reason"]


async def test_subscribe_once_then_409(client, finance, pg):
    tenant = await register(client)
    owner = bearer(tenant)
    plan = new_plan_body()
    assert (await client.post("/v1/plans", json=plan, headers=finance)).status_code == 201

    assert_error(await client.get("/v1/subscriptions/current", headers=owner), 404)
    assert_error(await client.post("/v1/subscriptions", headers=owner, json={"plan_slug": "no-such-plan"}), 404)
    member = await signed_in(client, pg, tenant["tenant"]["id"], "member")
    assert_error(await client.post("/v1/subscriptions", headers=member, json={"plan_slug": plan["slug"]}), 403)

    created = await client.post("/v1/subscriptions", headers=owner, json={"plan_slug": plan["slug"]})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active" and created.json()["plan"]["slug"] == plan["slug"]
    assert_error(await client.post("/v1/subscriptions", headers=owner, json={"plan_slug": plan["slug"]}),
                 409, "subscription_exists")

    current = await client.get("/v1/subscriptions/current", headers=member)
    assert current.status_code == 200 and current.json()["id"] == created.json()["id"]


# ---------------------------------------------------------------- invoices and usage


async def test_new_tenant_has_no_invoices(client):
    headers = bearer(await register(client))
    assert (await client.get("/v1/invoices", headers=headers)).json() == []
    assert_error(await client.get("/v1/invoices/ML-NOPE-202601", headers=headers), 404)


def store_invoice(stack: Settings, tenant_id: str, slug: str) -> str:
    """An invoice in the tenant's schema through the invoice flow's own store."""
    plan = Plan(slug="pro", name="Pro", currency="USD", flat_fee=D("49.00"),
                charges=[UnitCharge(meter_slug="api-calls", unit_price=D("0.01"))])
    draft = compose_invoice(tenant_slug=slug, tenant_id=tenant_id, plan=plan, usage={"api-calls": D(1234)},
                            period_start=date(2026, 3, 1), period_end=date(2026, 4, 1))
    sync_engine = pg_sync_engine(stack)
    try:
        return PgInvoiceStore(sync_engine).create(tenant_id, draft).number
    finally:
        sync_engine.dispose()


async def test_invoice_is_served_with_lines_and_minor_units(client, stack):
    tenant = await register(client)
    number = await asyncio.to_thread(store_invoice, stack, tenant["tenant"]["id"], tenant["tenant"]["slug"])
    listed = (await client.get("/v1/invoices", headers=bearer(tenant))).json()
    assert [i["number"] for i in listed] == [number]
    invoice = (await client.get(f"/v1/invoices/{number}", headers=bearer(tenant))).json()
    assert invoice == listed[0]
    # 49.00 flat + 1234 x 0.01 = 61.34 USD
    assert (invoice["currency"], invoice["subtotal_minor"], invoice["total_minor"]) == ("USD", 6134, 6134)
    assert invoice["status"] == "draft" and invoice["period_start"] == "2026-03-01"
    assert [(l["kind"], l["amount_minor"]) for l in invoice["lines"]] == [("flat_fee", 4900), ("usage", 1234)]
    usage_line = invoice["lines"][1]
    assert (usage_line["quantity"], usage_line["unit_price"], usage_line["meter_slug"]) == ("1234", "0.01",
                                                                                            "api-calls")


async def seed_payment(stack: Settings, pg: AsyncEngine, tenant: dict, number: str) -> str:
    """A payment of invoice `number`, recorded as a Stripe webhook records it; its id."""
    stripe_invoice_id = f"in_{uuid.uuid4().hex[:12]}"
    sync_engine = pg_sync_engine(stack)
    try:
        await asyncio.to_thread(PgInvoiceStore(sync_engine).attach_stripe, tenant["tenant"]["id"], number,
                                stripe_invoice_id, "open")
    finally:
        sync_engine.dispose()
    async with pg.begin() as conn:
        customer_id = (await get_tenant(conn, uuid.UUID(tenant["tenant"]["id"]))).stripe_customer_id
        change = InvoiceChange(customer_id, stripe_invoice_id, "paid", PaymentRecord(f"ch_{uuid.uuid4().hex}", 6134,
                                                                                     "succeeded"))
        assert await record_stripe_event(conn, f"evt_{uuid.uuid4().hex}", "invoice.paid",
                                         datetime.now(timezone.utc), change) == "paid"
    async with pg.connect() as conn:
        [payment] = await list_payments(conn, uuid.UUID(tenant["tenant"]["id"]), 10)
    return str(payment.id)


async def seed_usage(pg: AsyncEngine, tenant_id: str, meter_slug: str,
                     hours: list[tuple[int, str, int]]) -> None:
    """Hourly usage as the stream writes it (add_usage), at DAY + hour."""
    async with pg.begin() as conn:
        await add_usage(conn, uuid.UUID(tenant_id), [(meter_slug, DAY + timedelta(hours=h), UsageDelta(D(q), n))
                                       for h, q, n in hours])


@pytest.mark.parametrize("path", ["/v1/usage", "/v1/usage/hourly"])
async def test_usage_points_and_total(client, pg, path):
    tenant = await register(client)
    headers = bearer(tenant)
    await client.post("/v1/meters", headers=headers, json={
        "slug": "tokens", "event_type": "llm.call", "aggregation": "SUM", "value_path": "usage.tokens"})
    await seed_usage(pg, tenant["tenant"]["id"], "tokens", [(10, "1.5", 1), (11, "2.25", 2), (30, "100", 1)])

    response = await client.get(path, headers=headers, params={
        "meter": "tokens", "from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "postgres"
    assert (body["meter"], body["aggregation"], body["total_quantity"], body["total_events"]) == (
        "tokens", "SUM", "3.75", 3)
    assert body["from"] == "2026-03-01T00:00:00Z" and body["to"] == "2026-03-02T00:00:00Z"
    assert [(p["window_start"], p["quantity"], p["event_count"]) for p in body["points"]] == [
        ("2026-03-01T10:00:00Z", "1.5", 1), ("2026-03-01T11:00:00Z", "2.25", 2)]


async def test_usage_rejects_bad_ranges_and_unknown_meters(client):
    headers = bearer(await register(client))
    await client.post("/v1/meters", headers=headers,
                      json={"slug": "api-calls", "event_type": "api.request", "aggregation": "COUNT"})
    later, earlier = (DAY + timedelta(hours=2)).isoformat(), DAY.isoformat()
    error = assert_error(await client.get("/v1/usage", headers=headers,
                                          params={"meter": "api-calls", "from": later, "to": earlier}), 422)
    assert error["details"][0]["field"] == "from"
    error = assert_error(await client.get("/v1/usage", headers=headers,
                                          params={"meter": "api-calls", "from": "2026-03-01T00:00:00"}), 422)
    assert error["details"][0]["field"] == "from"  # no offset: ambiguous
    assert_error(await client.get("/v1/usage", headers=headers), 422)  # meter is required
    assert_error(await client.get("/v1/usage", headers=headers, params={"meter": "nope"}), 404)
    empty = (await client.get("/v1/usage", headers=headers, params={"meter": "api-calls"})).json()
    assert (empty["total_quantity"], empty["total_events"], empty["points"]) == ("0", 0, [])


# ---------------------------------------------------------------- tenant isolation


async def test_one_tenants_token_cannot_reach_another_tenants_data(client, stack, pg):
    a, b = await register(client), await register(client)
    a_headers, b_headers = bearer(a), bearer(b)

    # B: a meter with usage, an invoice, a second API key.
    assert (await client.post("/v1/meters", headers=b_headers, json={
        "slug": "api-calls", "event_type": "api.request", "aggregation": "COUNT"})).status_code == 201
    await seed_usage(pg, b["tenant"]["id"], "api-calls", [(9, "5", 5), (10, "3", 3)])
    b_invoice = await asyncio.to_thread(store_invoice, stack, b["tenant"]["id"], b["tenant"]["slug"])
    b_key = (await client.post("/v1/api-keys", headers=b_headers, json={"name": "b-ingest"})).json()
    window = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}

    # Control: B sees its own data.
    assert (await client.get(f"/v1/invoices/{b_invoice}", headers=b_headers)).status_code == 200
    b_usage = (await client.get("/v1/usage", headers=b_headers, params={"meter": "api-calls", **window})).json()
    assert (b_usage["total_quantity"], b_usage["total_events"]) == ("8", 8)

    # Invoices: B's are not listed, and B's number is "not found", not "forbidden".
    assert (await client.get("/v1/invoices", headers=a_headers)).json() == []
    error = assert_error(await client.get(f"/v1/invoices/{b_invoice}", headers=a_headers), 404, "not_found")
    assert b["tenant"]["slug"] not in error["message"].lower().replace(b_invoice.lower(), "")

    # Meters: B's are invisible.
    assert (await client.get("/v1/meters", headers=a_headers)).json() == []

    # Usage for B's meter slug: unknown to A...
    for path in ("/v1/usage", "/v1/usage/hourly"):
        assert_error(await client.get(path, headers=a_headers, params={"meter": "api-calls", **window}), 404)
    # ...and once A has a meter of the same slug, A reads only its own (empty) usage.
    assert (await client.post("/v1/meters", headers=a_headers, json={
        "slug": "api-calls", "event_type": "api.request", "aggregation": "COUNT"})).status_code == 201
    for path in ("/v1/usage", "/v1/usage/hourly"):
        a_usage = (await client.get(path, headers=a_headers, params={"meter": "api-calls", **window})).json()
        assert (a_usage["total_quantity"], a_usage["total_events"], a_usage["points"]) == ("0", 0, [])

    # API keys: B's are not listed and cannot be revoked by A; the key still works for B.
    a_keys = (await client.get("/v1/api-keys", headers=a_headers)).json()
    assert {k["id"] for k in a_keys}.isdisjoint({b_key["id"], b["api_key"]["id"]})
    assert_error(await client.delete(f"/v1/api-keys/{b_key['id']}", headers=a_headers), 404)
    async with pg.connect() as conn:
        still = await find_key_owner(conn, b_key["key"])
    assert still is not None and str(still.tenant_id) == b["tenant"]["id"]

    # Billing operations: B's payment, correction and invoice lines are unknown to A, never data.
    b_payment = await seed_payment(stack, pg, b, b_invoice)
    async with pg.begin() as conn:
        await add_corrections(conn, uuid.UUID(b["tenant"]["id"]),
                              [(b_invoice, "api-calls", DAY, D(2), 2, "delta")])
    b_payments = (await client.get("/v1/payments", headers=b_headers)).json()["payments"]
    assert [p["id"] for p in b_payments] == [b_payment]
    assert len((await client.get("/v1/corrections", headers=b_headers)).json()["corrections"]) == 1
    # B's line is found for B (its period has no subscription now, hence 409 rather than windows).
    assert_error(await client.get(f"/v1/invoices/{b_invoice}/lines/2/windows", headers=b_headers), 409,
                 "segments_changed")
    assert (await client.get("/v1/payments", headers=a_headers)).json() == {"payments": [], "next_cursor": None}
    assert_error(await client.get(f"/v1/payments/{b_payment}", headers=a_headers), 404)
    assert (await client.get("/v1/corrections", headers=a_headers)).json() == {"corrections": [], "next_cursor": None}
    for part in ("windows", "events"):
        assert_error(await client.get(f"/v1/invoices/{b_invoice}/lines/2/{part}", headers=a_headers), 404)
    assert_error(await client.get("/v1/invoices/preview", headers=a_headers), 404)
    # Operators' routes are not a tenant's, whichever tenant they name.
    assert_error(await client.post(f"/v1/operator/tenants/{b['tenant']['id']}/subscriptions", headers=a_headers,
                                   json={"plan_slug": "pro", "started_at": DAY.isoformat()}), 401)

    # A tenant named in a body or a query is ignored: the token decides.
    sneaky = await client.post("/v1/meters", headers=a_headers, json={
        "slug": "sneaky", "event_type": "x", "aggregation": "COUNT", "tenant_id": b["tenant"]["id"]})
    assert sneaky.status_code == 201
    assert "sneaky" not in [m["slug"] for m in (await client.get("/v1/meters", headers=b_headers)).json()]
    assert (await client.get("/v1/invoices", headers=a_headers,
                             params={"tenant_id": b["tenant"]["id"]})).json() == []

    # A token claiming B's tenant but not signed by us is refused.
    forged = jwt.encode({"sub": a["owner"]["id"], "tenant_id": b["tenant"]["id"], "role": "owner",
                         "exp": int((datetime.now(timezone.utc) + timedelta(minutes=5)).timestamp())},
                        "attacker-secret-attacker-secret-attacker-secret", algorithm="HS256")
    assert_error(await client.get("/v1/invoices", headers=bearer(forged)), 401)


async def test_one_tenants_admin_cannot_reach_another_tenants_people(client, pg):
    """Users, invitations and the audit log: B's ids are "not found" to A, never B's data."""
    a, b = await register(client), await register(client)
    a_headers, b_headers = bearer(a), bearer(b)
    b_invitation = (await client.post("/v1/users/invitations", headers=b_headers,
                                      json={"email": f"b-{uuid.uuid4().hex[:8]}@example.com", "role": "member"})).json()
    b_user = b["owner"]["id"]

    assert [u["id"] for u in (await client.get("/v1/users", headers=a_headers)).json()["users"]] == [a["owner"]["id"]]
    assert (await client.get("/v1/users/invitations", headers=a_headers)).json() == []
    assert_error(await client.put(f"/v1/users/{b_user}/role", headers=a_headers, json={"role": "viewer"}), 404)
    assert_error(await client.delete(f"/v1/users/{b_user}", headers=a_headers), 404)
    assert_error(await client.post("/v1/users/transfer-ownership", headers=a_headers, json={"user_id": b_user}), 404)
    assert_error(await client.delete(f"/v1/users/invitations/{b_invitation['id']}", headers=a_headers), 404)
    a_audit = (await client.get("/v1/audit", headers=a_headers)).json()["entries"]
    assert all(e["target_id"] not in (b_user, b_invitation["id"]) for e in a_audit)
    assert b_invitation["email"] not in str(a_audit)
    assert all(m["recipient"] != b_invitation["email"]
               for m in (await client.get("/v1/notifications/outbox", headers=a_headers)).json())

    # B is untouched: its owner is still the owner and its invitation still pending.
    b_users = (await client.get("/v1/users", headers=b_headers)).json()["users"]
    assert [(u["id"], u["role"]) for u in b_users] == [(b_user, "owner")]
    assert [i["id"] for i in (await client.get("/v1/users/invitations", headers=b_headers)).json()] == [b_invitation["id"]]
    assert [e["action"] for e in (await client.get("/v1/audit", headers=b_headers)).json()["entries"]] == ["user.invited"]
