"""Subscription lifecycle through the admin API (in-process ASGI, real PostgreSQL and
localstripe), then invoiced by the real invoice flow (Prefect).

The API's clock (`api.subscriptions.deps.get_now`) is overridden so each test acts
inside a month no other test invoices; every subscription made here ends, so the
tenants stay out of other tests' periods. Amounts are worked out beside each assert.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.subscriptions.deps import get_now
from billing_jobs.errors import PermanentError
from flows.invoicing import generate_invoices
from meterline.bootstrap import pg_sync_engine
from meterline.settings import Settings
from metering import UsageDelta
from tests.support.admin_api import Clock, asgi_client, registered_owner, signed_in
from tests.support.operators import operator_headers
from warehouse.postgres.billing_limits import PgLimitStore, blocked_event_types
from warehouse.postgres.plans import get_plan, insert_subscription
from warehouse.postgres.tables import subscription
from warehouse.postgres.tenants import get_tenant
from warehouse.postgres.usage import add_usage

pytestmark = pytest.mark.integration


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
async def clock() -> Clock:
    return Clock(at(1, 1))


@pytest.fixture(scope="module")
async def client(stack: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(stack, {get_now: clock}) as http:
        yield http


async def new_plan(client: httpx.AsyncClient, stack: Settings, flat_fee: str, unit_price: str,
                   meter_slug: str = "api", currency: str = "USD") -> str:
    slug = "p" + uuid.uuid4().hex[:10]
    response = await client.post("/v1/plans", headers=await operator_headers(client, stack, "finance"), json={
        "slug": slug, "name": f"Plan {flat_fee}", "currency": currency, "flat_fee": flat_fee,
        "charges": [{"model": "unit", "meter_slug": meter_slug, "unit_price": unit_price}]})
    assert response.status_code == 201, response.text
    return slug


async def seed_calls(pg: AsyncEngine, tenant_id: str, calls: list[tuple[datetime, int]]) -> None:
    async with pg.begin() as conn:
        record = await get_tenant(conn, uuid.UUID(tenant_id))
        await add_usage(conn, record.id, [("api", window, UsageDelta(Decimal(n), n)) for window, n in calls])


def error_of(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code
    return error


def invoices(period: str, tenant_id: str):
    return generate_invoices(period=period, tenants=[tenant_id])


async def test_change_plan_mid_period_bills_both_plans(client, pg, stack, clock):
    tenant_id, _, owner = await registered_owner(client)
    basic = await new_plan(client, stack, "31.00", "0.01")
    pro = await new_plan(client, stack, "62.00", "0.02")
    euro = await new_plan(client, stack, "10.00", "0.01", currency="EUR")

    clock.now = at(5, 1)
    assert (await client.post("/v1/subscriptions", headers=owner, json={"plan_slug": basic})).status_code == 201
    await seed_calls(pg, tenant_id, [(at(5, 10), 100), (at(5, 15, 23), 50), (at(5, 16), 1000)])

    clock.now = at(5, 16)
    member = await signed_in(client, pg, tenant_id, "member")
    error_of(await client.post("/v1/subscriptions/current/change-plan", headers=member, json={"plan_slug": pro}), 403)
    error_of(await client.post("/v1/subscriptions/current/change-plan", headers=owner,
                               json={"plan_slug": "no-such-plan"}), 404)
    error_of(await client.post("/v1/subscriptions/current/change-plan", headers=owner, json={"plan_slug": basic}),
             409, "same_plan")
    currency = error_of(await client.post("/v1/subscriptions/current/change-plan", headers=owner,
                                          json={"plan_slug": euro}), 422)
    assert currency["details"][0]["field"] == "plan_slug" and "EUR" in currency["message"]
    error_of(await client.post("/v1/subscriptions/current/change-plan", headers=owner, json={}), 422)

    changed = await client.post("/v1/subscriptions/current/change-plan", headers=owner, json={"plan_slug": pro})
    assert changed.status_code == 200, changed.text
    assert changed.json()["plan"]["slug"] == pro and changed.json()["started_at"] == "2026-05-16T00:00:00Z"
    current = (await client.get("/v1/subscriptions/current", headers=member)).json()
    assert current["id"] == changed.json()["id"] and current["status"] == "active"
    async with pg.connect() as conn:
        rows = (await conn.execute(select(subscription.c.status, subscription.c.started_at, subscription.c.canceled_at)
                                   .where(subscription.c.tenant_id == uuid.UUID(tenant_id))
                                   .order_by(subscription.c.started_at))).all()
    # The old subscription ends exactly where the new one starts.
    assert rows == [("canceled", at(5, 1), at(5, 16)), ("active", at(5, 16), None)]

    clock.now = at(5, 20)  # leave nothing open-ended for other tests' periods
    assert (await client.post("/v1/subscriptions/current/cancel", headers=owner,
                              json={"at_period_end": True})).status_code == 200

    [invoice] = invoices("2026-05", tenant_id)
    assert [amount for _, amount in invoice.lines] == [
        1500,  # basic 31.00 for 15 of 31 days
        150,   # 150 calls before the change (the 23:00 hour included) at 0.01
        3200,  # pro 62.00 for 16 of 31 days
        2000,  # 1000 calls after it at 0.02
    ]
    assert invoice.total_minor == 6850
    assert invoices("2026-06", tenant_id) == []


async def test_cancel_at_period_end_is_live_and_billed_until_then(client, pg, stack, clock):
    tenant_id, _, owner = await registered_owner(client)
    basic = await new_plan(client, stack, "30.00", "0.01")
    other = await new_plan(client, stack, "60.00", "0.01")
    clock.now = at(6, 1)
    assert (await client.post("/v1/subscriptions", headers=owner, json={"plan_slug": basic})).status_code == 201
    await seed_calls(pg, tenant_id, [(at(6, 5), 100), (at(6, 25), 200), (at(7, 2), 300)])

    clock.now = at(6, 10)
    error_of(await client.post("/v1/subscriptions/current/cancel", headers=owner, json={}), 422)
    canceled = await client.post("/v1/subscriptions/current/cancel", headers=owner, json={"at_period_end": True})
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert (body["status"], body["canceled_at"], body["cancel_at_period_end"]) == ("active", "2026-07-01T00:00:00Z",
                                                                                  True)

    # Still live until then, for the API, the limit check and ingest's blocks alike.
    clock.now = at(6, 30, 23)
    assert (await client.get("/v1/subscriptions/current", headers=owner)).json()["id"] == body["id"]
    error_of(await client.post("/v1/subscriptions/current/cancel", headers=owner, json={"at_period_end": True}),
             409, "cancel_scheduled")
    error_of(await client.post("/v1/subscriptions/current/change-plan", headers=owner, json={"plan_slug": other}),
             409, "cancel_scheduled")
    error_of(await client.post("/v1/subscriptions", headers=owner, json={"plan_slug": other}),
             409, "subscription_exists")
    limits = PgLimitStore(pg_sync_engine(stack))
    assert tenant_id in {s.tenant_id for s in limits.subjects(at(6, 30, 23))}
    assert tenant_id not in {s.tenant_id for s in limits.subjects(at(7, 1))}

    # Billed for the whole of June; nothing in July (the 300 calls of July 2nd are not billed).
    [june] = invoices("2026-06", tenant_id)
    assert [amount for _, amount in june.lines] == [3000, 300]
    assert invoices("2026-07", tenant_id) == []

    # Over after its end: the tenant may subscribe again (the ended row no longer counts as live).
    clock.now = at(7, 2)
    error_of(await client.get("/v1/subscriptions/current", headers=owner), 404)
    error_of(await client.post("/v1/subscriptions/current/cancel", headers=owner, json={"at_period_end": False}), 404)
    again = await client.post("/v1/subscriptions", headers=owner, json={"plan_slug": other})
    assert again.status_code == 201, again.text
    clock.now = at(7, 2, 12)
    assert (await client.post("/v1/subscriptions/current/cancel", headers=owner,
                              json={"at_period_end": False})).json()["status"] == "canceled"


async def test_cancel_now_is_not_billed_after(client, pg, stack, clock):
    tenant_id, _, owner = await registered_owner(client)
    basic = await new_plan(client, stack, "31.00", "0.01")
    clock.now = at(8, 1)
    assert (await client.post("/v1/subscriptions", headers=owner, json={"plan_slug": basic})).status_code == 201
    await seed_calls(pg, tenant_id, [(at(8, 5), 100), (at(8, 20), 900)])

    clock.now = at(8, 16)
    member = await signed_in(client, pg, tenant_id, "member")
    error_of(await client.post("/v1/subscriptions/current/cancel", headers=member, json={"at_period_end": False}),
             403)
    canceled = await client.post("/v1/subscriptions/current/cancel", headers=owner, json={"at_period_end": False})
    assert canceled.status_code == 200, canceled.text
    assert (canceled.json()["status"], canceled.json()["canceled_at"]) == ("canceled", "2026-08-16T00:00:00Z")
    error_of(await client.get("/v1/subscriptions/current", headers=owner), 404)
    error_of(await client.post("/v1/subscriptions/current/cancel", headers=owner, json={"at_period_end": False}), 404)
    assert tenant_id not in {s.tenant_id for s in PgLimitStore(pg_sync_engine(stack)).subjects(at(8, 16))}

    [august] = invoices("2026-08", tenant_id)
    # 31.00 for 15 of 31 days = 15.00; the 100 calls of the 5th; not the 900 of the 20th.
    assert [amount for _, amount in august.lines] == [1500, 100]
    assert invoices("2026-09", tenant_id) == []


async def test_unique_count_meters_cannot_be_priced(client, pg, stack, clock):
    tenant_id, _, owner = await registered_owner(client)
    created = await client.post("/v1/meters", headers=owner, json={
        "slug": "users", "event_type": "login", "aggregation": "UNIQUE_COUNT", "value_path": "user"})
    assert created.status_code == 201, created.text
    prices_users = await new_plan(client, stack, "10.00", "1.00", meter_slug="users")
    prices_visitors = await new_plan(client, stack, "10.00", "1.00", meter_slug="visitors")
    clock.now = at(4, 1)

    refused = error_of(await client.post("/v1/subscriptions", headers=owner, json={"plan_slug": prices_users}),
                       422, "meter_not_billable")
    assert "users" in refused["message"] and "UNIQUE_COUNT" in refused["details"][0]["reason"]
    assert refused["details"][0]["field"] == "plan_slug"

    assert (await client.post("/v1/subscriptions", headers=owner,
                              json={"plan_slug": prices_visitors})).status_code == 201
    meter = {"slug": "visitors", "event_type": "visit", "aggregation": "UNIQUE_COUNT", "value_path": "visitor"}
    refused = error_of(await client.post("/v1/meters", headers=owner, json=meter), 422, "meter_not_billable")
    assert "visitors" in refused["message"] and refused["details"][0]["field"] == "aggregation"
    refused = error_of(await client.post("/v1/subscriptions/current/change-plan", headers=owner,
                                         json={"plan_slug": prices_users}), 422, "meter_not_billable")
    assert "users" in refused["message"]
    # As an additive meter it is billable.
    assert (await client.post("/v1/meters", headers=owner, json={**meter, "aggregation": "SUM"})).status_code == 201
    assert (await client.post("/v1/subscriptions/current/cancel", headers=owner,
                              json={"at_period_end": True})).status_code == 200

    # A subscription made before the rule (seeded directly): the invoice flow fails this
    # tenant with the meter named, instead of billing 0 distinct users.
    other_id, _, other_owner = await registered_owner(client)
    assert (await client.post("/v1/meters", headers=other_owner, json={
        "slug": "users", "event_type": "login", "aggregation": "UNIQUE_COUNT", "value_path": "user"})).status_code == 201
    async with pg.begin() as conn:
        plan_id, _ = await get_plan(conn, prices_users)
        await insert_subscription(conn, uuid.UUID(other_id), plan_id, started_at=at(3, 1))
        await conn.execute(subscription.update().where(subscription.c.tenant_id == uuid.UUID(other_id))
                           .values(status="canceled", canceled_at=at(4, 1)))
    with pytest.raises(PermanentError, match="meter 'users'.*UNIQUE_COUNT"):
        invoices("2026-03", other_id)
    async with pg.connect() as conn:
        assert await blocked_event_types(conn, uuid.UUID(other_id), at(3, 15)) == {}
