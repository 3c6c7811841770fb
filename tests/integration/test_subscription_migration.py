"""Migrating a customer in: an operator's backdated subscription, refused with a reason when
it would bill wrongly, and otherwise billed for the closed previous month by billing_jobs'
invoice run, from events sent through Kafka and applied by the real stream worker
(PostgreSQL, ClickHouse), pushed to localstripe.

The real clock: events must be within the stream's dedup horizon, so the subscription
starts three days before this month (always within 35 days of today)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
from asgi_lifespan import LifespanManager

from billing_jobs.invoice_run import billable_tenants, invoice_tenant
from meterline.bootstrap import api_app, pg_sync_engine, stripe_gateway
from meterline.settings import Settings
from tests.support.usage_events import iso, produce, wait_hourly_events, wait_meters_applied
from warehouse.postgres.billing_run import PgInvoiceRunStore

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
UTC = timezone.utc


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def client(stack: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = api_app(stack)
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://api.test") as http:
            yield http


async def register_with_meters(client: httpx.AsyncClient, slug: str) -> tuple[str, dict[str, str]]:
    response = await client.post("/v1/tenants", json={"slug": slug, "name": f"Tenant {slug}",
                                                      "owner_email": f"owner@{slug}.example",
                                                      "owner_password": PASSWORD})
    assert response.status_code == 201, response.text
    auth = bearer(response.json()["access_token"]["access_token"])
    for meter in ({"slug": "calls", "event_type": "api.call", "aggregation": "COUNT"},
                  {"slug": "tokens", "event_type": "api.call", "aggregation": "SUM", "value_path": "tokens"}):
        created = await client.post("/v1/meters", headers=auth, json=meter)
        assert created.status_code == 201, created.text
    return response.json()["tenant"]["id"], auth


async def new_plan(client: httpx.AsyncClient, operator: dict[str, str]) -> str:
    slug = "p" + uuid.uuid4().hex[:10]
    response = await client.post("/v1/plans", headers=operator, json={
        "slug": slug, "name": "Migrated", "currency": "USD", "flat_fee": "30.00",
        "charges": [{"model": "unit", "meter_slug": "calls", "unit_price": "0.05"},
                    {"model": "unit", "meter_slug": "tokens", "unit_price": "0.001"}]})
    assert response.status_code == 201, response.text
    return slug


def months_around(now: datetime) -> tuple[datetime, datetime]:
    """(start of the previous month, start of this month), UTC."""
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (this_month - timedelta(days=1)).replace(day=1), this_month


def events(prefix: str, start: datetime, end: datetime, count: int) -> list[dict]:
    step = (end - start) / count
    return [{"id": f"{prefix}-{i}", "type": "api.call", "source": "test", "subject": "s",
             "time": iso(start + step * i), "data": {"tokens": 10 + i}} for i in range(count)]


def cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def test_operator_migrates_a_customer_whose_closed_month_is_then_billed(stream_worker, client, unique_slug):
    settings = stream_worker
    operator = bearer(settings.api.operator_token.get_secret_value())
    tenant_id, owner = await register_with_meters(client, unique_slug)
    plan_slug = await new_plan(client, operator)
    now = datetime.now(UTC)
    previous_month, this_month = months_around(now)
    started_at = this_month - timedelta(days=3) + timedelta(hours=7, minutes=30)
    url = f"/v1/operator/tenants/{tenant_id}/subscriptions"

    async def migrate(headers, **body) -> httpx.Response:
        return await client.post(url, headers=headers, json={"plan_slug": plan_slug, "started_at": iso(started_at),
                                                              **body})

    def refused(response: httpx.Response, status: int, code: str | None = None) -> dict:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert code is None or error["code"] == code
        return error

    # Refusals, each with its reason and the field at fault.
    future = refused(await migrate(operator, started_at=iso(now + timedelta(hours=1))), 422, "started_in_future")
    assert [d["field"] for d in future["details"]] == ["started_at"]
    horizon = refused(await migrate(operator, started_at=iso(now - timedelta(days=36))), 422, "beyond_usage_horizon")
    assert "35 days" in horizon["message"] and horizon["details"][0]["field"] == "started_at"
    refused(await migrate(owner), 403)  # a tenant's own token is not the operator's
    refused(await migrate({}), 401)
    refused(await client.post(f"/v1/operator/tenants/{uuid.uuid4()}/subscriptions", headers=operator,
                              json={"plan_slug": plan_slug, "started_at": iso(started_at)}), 404)
    refused(await migrate(operator, plan_slug="no-such-plan"), 404)

    created = await migrate(operator)
    assert created.status_code == 201, created.text
    assert (created.json()["started_at"], created.json()["plan"]["slug"]) == (iso(started_at), plan_slug)
    overlap = refused(await migrate(operator, started_at=iso(started_at + timedelta(hours=1))), 422,
                      "overlaps_subscription")
    assert plan_slug in overlap["message"]
    current = await client.get("/v1/subscriptions/current", headers=owner)
    assert current.json()["id"] == created.json()["id"]

    # Events: before the start (not billed), in the migrated part of the month, and in this month.
    before = events("before", started_at - timedelta(hours=6), started_at - timedelta(hours=2), 5)
    billed = events("billed", started_at + timedelta(hours=1), this_month - timedelta(minutes=1), 40)
    later_end = min(now, this_month + timedelta(hours=12))
    later = events("later", this_month, later_end, 6) if later_end > this_month + timedelta(minutes=6) else []
    await wait_meters_applied(settings, tenant_id, ["calls", "tokens"])
    await produce(settings, tenant_id, before + billed + later)
    await wait_hourly_events(settings, tenant_id, "calls", previous_month, this_month, len(before) + len(billed))
    await wait_hourly_events(settings, tenant_id, "calls", this_month, now + timedelta(hours=1), len(later))

    store = PgInvoiceRunStore(pg_sync_engine(settings))
    period = (previous_month.date(), this_month.date())
    spans = billable_tenants(store, *period, tenants=[tenant_id])[tenant_id]
    # The previous month has closed: the period guard lets it be invoiced now.
    summary = invoice_tenant(store=store, payments=stripe_gateway(settings), tenant_id=tenant_id, spans=spans,
                             period_start=period[0], period_end=period[1], now=datetime.now(timezone.utc))

    # 30.00 prorated by the seconds from the start to the month's end; usage of the billed events only.
    whole, part = (this_month - previous_month).total_seconds(), (this_month - started_at).total_seconds()
    fee = cents(Decimal("30.00") * Decimal(int(part)) / Decimal(int(whole)))
    calls = cents(len(billed) * Decimal("0.05"))
    tokens = cents(sum(e["data"]["tokens"] for e in billed) * Decimal("0.001"))
    assert [amount for _, amount in summary.lines] == [fee, calls, tokens]
    assert summary.total_minor == fee + calls + tokens and summary.status == "paid"
    assert summary.number.endswith(f"{period[0]:%Y%m}")
    stored = (await client.get(f"/v1/invoices/{summary.number}", headers=owner)).json()
    assert [(line["kind"], line["meter_slug"], line["quantity"]) for line in stored["lines"]] == [
        ("flat_fee", None, None), ("usage", "calls", str(len(billed))),
        ("usage", "tokens", str(sum(e["data"]["tokens"] for e in billed)))]
    assert (stored["period_start"], stored["period_end"]) == (str(period[0]), str(period[1]))
