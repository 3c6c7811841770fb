"""Migrating a customer in: an operator's backdated subscription, refused with a reason when
it would bill wrongly, and otherwise billed for the closed previous month by billing_jobs'
invoice run, from events sent through Kafka and applied by the real stream worker
(PostgreSQL, ClickHouse), pushed to localstripe.

The real clock: events must be within the stream's dedup horizon, so the subscription
starts three days before this month (always within 35 days of today)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from api.subscriptions.deps import get_now
from billing_jobs.invoice_run import billable_tenants, invoice_tenant
from billing_jobs.invoicing import compose_invoice
from billing_jobs.plans import Plan
from meterline.bootstrap import pg_sync_engine, stripe_gateway
from meterline.settings import Settings
from tests.support.admin_api import PASSWORD, Clock, asgi_client, bearer, signed_in
from tests.support.operators import operator_headers
from tests.support.usage_events import iso, produce, wait_hourly_events, wait_meters_applied
from warehouse.postgres.billing_run import PgInvoiceRunStore
from warehouse.postgres.invoices import PgInvoiceStore

pytestmark = pytest.mark.integration

UTC = timezone.utc


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
async def client(stack: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(stack, {get_now: clock}) as http:
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


async def test_operator_migrates_a_customer_whose_closed_month_is_then_billed(stream_worker, client, clock, pg,
                                                                             unique_slug):
    settings = stream_worker
    operator = await operator_headers(client, settings, "finance")
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
    refused(await migrate(owner), 401)  # a tenant's own token is never an operator's
    refused(await migrate(await operator_headers(client, settings, "sre")), 403)  # SREs do not bill
    refused(await migrate({}), 401)
    refused(await client.post(f"/v1/operator/tenants/{uuid.uuid4()}/subscriptions", headers=operator,
                              json={"plan_slug": plan_slug, "started_at": iso(started_at)}), 404)
    refused(await migrate(operator, plan_slug="no-such-plan"), 404)

    created = await migrate(operator)
    assert created.status_code == 201, created.text
    assert (created.json()["started_at"], created.json()["plan"]["slug"]) == (iso(started_at), plan_slug)
    audit = (await client.get("/v1/audit", headers=owner)).json()["entries"]
    assert [(e["action"], e["actor_kind"], e["details"]["started_at"]) for e in audit] == [
        ("subscription.migrated", "operator", started_at.isoformat())]
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
    produced_at = datetime.now(UTC)
    await wait_hourly_events(settings, tenant_id, "calls", previous_month, this_month, len(before) + len(billed))
    await wait_hourly_events(settings, tenant_id, "calls", this_month, now + timedelta(hours=1), len(later))

    # The preview of the then open period, asked at its last minute, is the invoice issued
    # once it closed: the same rating code on the same reads.
    viewer = await signed_in(client, pg, tenant_id, "viewer")
    clock.now = this_month - timedelta(minutes=1)
    preview = await client.get("/v1/invoices/preview", headers=viewer)
    clock.now = None
    assert preview.status_code == 200, preview.text
    refused(await client.get(f"/v1/invoices/{preview.json()['number']}", headers=viewer), 404)  # not issued yet

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
    assert {k: v for k, v in preview.json().items() if k not in ("as_of", "final_up_to")} == {
        k: v for k, v in stored.items() if k not in ("status", "stripe_invoice_id")}

    # The open month so far: its whole fee (the subscription is in force all month) and the
    # usage of this month's events, stamped with a watermark past the moment they were sent.
    deadline = time.monotonic() + 30
    while True:
        open_preview = await client.get("/v1/invoices/preview", headers=owner)
        assert open_preview.status_code == 200, open_preview.text
        final_up_to = open_preview.json()["final_up_to"]
        if final_up_to is not None and datetime.fromisoformat(final_up_to) >= produced_at:
            break
        assert time.monotonic() < deadline, final_up_to
        await asyncio.sleep(0.5)
    body = open_preview.json()
    assert (body["period_start"], body["currency"]) == (str(this_month.date()), "USD")
    assert [line["amount_minor"] for line in body["lines"]] == [
        3000, cents(len(later) * Decimal("0.05")), cents(sum(e["data"]["tokens"] for e in later) * Decimal("0.001"))]
    assert body["total_minor"] == sum(line["amount_minor"] for line in body["lines"])
    _, unsubscribed = await register_with_meters(client, unique_slug + "x")
    refused(await client.get("/v1/invoices/preview", headers=unsubscribed), 404)

    # Each usage line down to its windows and then its events: they add up to the line.
    for position, meter, value_of in ((2, "calls", lambda e: 1), (3, "tokens", lambda e: e["data"]["tokens"])):
        line = stored["lines"][position - 1]
        windows = await paged(client, f"/v1/invoices/{summary.number}/lines/{position}/windows", owner, "windows", 7)
        assert sum(Decimal(w["quantity"]) for w in windows) == Decimal(line["quantity"])
        assert sum(w["event_count"] for w in windows) == len(billed)
        assert all(started_at - timedelta(hours=1) < datetime.fromisoformat(w["window_start"]) < this_month
                   for w in windows)
        first = (await client.get(f"/v1/invoices/{summary.number}/lines/{position}/windows", headers=owner)).json()
        assert (first["meter_slug"], Decimal(first["total_quantity"]), first["total_events"]) == (
            meter, Decimal(line["quantity"]), len(billed))
        found = await paged(client, f"/v1/invoices/{summary.number}/lines/{position}/events", owner, "events", 9)
        assert sorted(e["id"] for e in found) == sorted(e["id"] for e in billed)
        assert [(e["time"], e["id"]) for e in found] == sorted((e["time"], e["id"]) for e in found)
        assert sum(Decimal(e["value"]) if e["value"] is not None else 1 for e in found) == Decimal(line["quantity"])
        assert sum(value_of(e) for e in billed) == Decimal(line["quantity"])
        # Another tenant asking for this invoice's line: unknown, never data.
        for part in ("windows", "events"):
            refused(await client.get(f"/v1/invoices/{summary.number}/lines/{position}/{part}", headers=unsubscribed),
                    404)
    refused(await client.get(f"/v1/invoices/{summary.number}/lines/1/windows", headers=owner), 422, "not_a_usage_line")
    refused(await client.get(f"/v1/invoices/{summary.number}/lines/99/events", headers=owner), 404)
    refused(await client.get(f"/v1/invoices/{summary.number}/lines/2/events", headers=owner,
                             params={"cursor": "bm90LWEtY3Vyc29y"}), 422)


async def paged(client: httpx.AsyncClient, path: str, auth: dict, key: str, limit: int) -> list[dict]:
    found, cursor = [], None
    while True:
        response = await client.get(path, headers=auth, params={"limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        found.extend(response.json()[key])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


async def test_migration_into_an_invoiced_period_is_refused(stack, client, unique_slug):
    """A tenant invoiced for last month (its invoice is never recomposed): a subscription
    starting in that month would never be billed for it."""
    operator = await operator_headers(client, stack, "finance")
    tenant_id, _ = await register_with_meters(client, unique_slug)
    plan_slug = await new_plan(client, operator)
    now = datetime.now(UTC)
    previous_month, this_month = months_around(now)
    plan = Plan.model_validate({"slug": "old", "name": "Old", "currency": "USD", "flat_fee": "1.00"})
    draft = compose_invoice(tenant_slug=unique_slug, tenant_id=tenant_id, plan=plan, usage={},
                            period_start=previous_month.date(), period_end=this_month.date())
    await asyncio.to_thread(PgInvoiceStore(pg_sync_engine(stack)).create, tenant_id, draft)
    url = f"/v1/operator/tenants/{tenant_id}/subscriptions"
    refused = await client.post(url, headers=operator, json={"plan_slug": plan_slug,
                                                              "started_at": iso(this_month - timedelta(hours=1))})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "period_invoiced"
    assert refused.json()["error"]["details"][0]["field"] == "started_at"
    accepted = await client.post(url, headers=operator, json={"plan_slug": plan_slug, "started_at": iso(this_month)})
    assert accepted.status_code == 201, accepted.text
