"""The invoice flow with plan segments, on real PostgreSQL, localstripe and Prefect.

A mid-period plan change (flat fee prorated, usage rated under the plan in force
when it happened), and a crash between creating the Stripe invoice and storing
its id, then a rerun of the flow: one invoice in PostgreSQL and one in Stripe.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from stripe import StripeClient

from billing_jobs.invoicing import compose_segmented_invoice
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSpan, plan_segments, with_usage
from billing_jobs.stripe import NUMBER_KEY, StripeAdapter
from billing_jobs.usage_totals import UnbillableMeterError
from flows.invoicing import generate_invoices, invoice_tenants
from meterline.bootstrap import pg_engine, pg_sync_engine
from metering import UsageDelta
from tests.support.tenants import create_tenant
from warehouse.postgres.billing_customers import start_customer_creation
from warehouse.postgres.invoices import PgInvoiceStore
from warehouse.postgres.plans import cancel_subscription, get_plan, insert_plan, insert_subscription
from warehouse.postgres.tenants import get_tenant, set_stripe_customer
from warehouse.postgres.usage import add_usage

pytestmark = pytest.mark.integration
D = Decimal


def at(day: int, hour: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


def plans(suffix: str) -> tuple[Plan, Plan]:
    starter = Plan.model_validate({
        "slug": f"starter-{suffix}", "name": "Starter", "currency": "USD", "flat_fee": "31.00",
        "charges": [{"meter_slug": "api", "model": "unit", "unit_price": "0.002", "included_usage": "1000"}]})
    pro = Plan.model_validate({
        "slug": f"pro-{suffix}", "name": "Pro", "currency": "USD", "flat_fee": "62.00",
        "charges": [{"meter_slug": "api", "model": "graduated", "tiers": [
            {"up_to": "10000", "unit_price": "0.001"}, {"up_to": None, "unit_price": "0.0005", "flat_fee": "2.00"}]}]})
    return starter, pro


async def subscribe_with_change(stack, unique_slug):
    tenant = await create_tenant(stack, unique_slug, [("api", "api.call", "COUNT", None)])
    starter, pro = plans(unique_slug)
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        for plan in (starter, pro):
            await insert_plan(conn, plan)
        starter_id, _ = await get_plan(conn, starter.slug)
        pro_id, _ = await get_plan(conn, pro.slug)
        await insert_subscription(conn, tenant.id, starter_id, started_at=at(20, month=9))
        await cancel_subscription(conn, tenant.id, at(11))
        await insert_subscription(conn, tenant.id, pro_id, started_at=at(11))
        await add_usage(conn, tenant.id, [
            ("api", at(2), UsageDelta(D(1500), 1500)),
            ("api", at(10, 23), UsageDelta(D(500), 500)),
            ("api", at(11), UsageDelta(D(12000), 12000)),
            ("api", at(1, month=11), UsageDelta(D(777), 777)),  # November: not October's
        ])
    await engine.dispose()
    return tenant, starter, pro


def stripe_invoices(stack, customer_id: str, number: str) -> list[dict]:
    client = StripeClient(stack.stripe.api_key.get_secret_value(), base_addresses={"api": stack.stripe_api_base})
    found = []
    for invoice in client.v1.invoices.list(params={"customer": customer_id, "limit": 100}).data:
        data = invoice.to_dict()
        if any((line.get("metadata") or {}).get(NUMBER_KEY) == number for line in data["lines"]["data"]):
            found.append(data)
    return found


async def customer_of(stack, tenant_id) -> str:
    engine = pg_engine(stack)
    async with engine.connect() as conn:
        customer_id = (await get_tenant(conn, tenant_id)).stripe_customer_id
    await engine.dispose()
    return customer_id


async def test_plan_change_mid_period_is_prorated_through_the_flow(stack, unique_slug):
    tenant, _, _ = await subscribe_with_change(stack, unique_slug)
    summaries = [s for s in generate_invoices(period="2026-10") if s.tenant_slug == unique_slug]
    # Starter, 10 of 31 days: 31.00 x 10/31 = 10.00; api 2000 - ceil(1000 x 10/31 = 322.58) = 1677 x 0.002 = 3.35
    # Pro, 21 of 31 days:     62.00 x 21/31 = 42.00; api 12000 graduated: 10.00 + (2000 x 0.0005 + 2.00) = 3.00
    # total 10.00 + 3.35 + 42.00 + 10.00 + 3.00 = 68.35 USD
    assert [s.total_minor for s in summaries] == [6835]
    assert [amount for _, amount in summaries[0].lines] == [1000, 335, 4200, 1000, 300]
    assert summaries[0].status == "paid"
    again = [s for s in generate_invoices(period="2026-10") if s.tenant_slug == unique_slug]
    assert again == summaries
    customer_id = await customer_of(stack, tenant.id)
    assert [(i["total"], i["status"]) for i in stripe_invoices(stack, customer_id, summaries[0].number)] == [
        (6835, "paid")]


async def test_crash_between_stripe_invoice_and_store_then_rerun_leaves_one_invoice(stack, unique_slug):
    tenant, starter, pro = await subscribe_with_change(stack, unique_slug)
    gateway = StripeAdapter(stack.stripe.api_key.get_secret_value(), stack.stripe_api_base, local=True)
    customer_id = gateway.ensure_customer(str(tenant.id), unique_slug.title(), f"billing@{unique_slug}.invalid", None)
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await set_stripe_customer(conn, tenant.id, customer_id)
    await engine.dispose()
    # The first run: the draft stored, its push recorded, the Stripe invoice created... then
    # the process died before the Stripe id reached PostgreSQL.
    spans = [SubscriptionSpan(starter, at(20, month=9), at(11)), SubscriptionSpan(pro, at(11))]
    segments = with_usage(plan_segments(spans, date(2026, 10, 1), date(2026, 11, 1)),
                          [("api", at(2), D(1500)), ("api", at(10, 23), D(500)), ("api", at(11), D(12000))])
    draft = compose_segmented_invoice(tenant_slug=unique_slug, tenant_id=str(tenant.id), segments=segments,
                                      period_start=date(2026, 10, 1), period_end=date(2026, 11, 1))
    store = PgInvoiceStore(pg_sync_engine(stack))
    store.create(str(tenant.id), draft)
    assert store.start_stripe_push(str(tenant.id), draft.number)
    created = gateway.push_invoice(customer_id, draft, None, recover=False)
    assert store.get(str(tenant.id), draft.number).stripe_invoice_id is None
    # The record is what makes the rerun look Stripe up: it is set once, and only once.
    assert not store.start_stripe_push(str(tenant.id), draft.number)

    summaries = [s for s in generate_invoices(period="2026-10") if s.tenant_slug == unique_slug]
    assert [(s.number, s.total_minor, s.status) for s in summaries] == [(draft.number, 6835, "paid")]
    stored = store.get(str(tenant.id), draft.number)
    assert stored.stripe_invoice_id == created.stripe_invoice_id and stored.status == "paid"
    assert [i["id"] for i in stripe_invoices(stack, customer_id, draft.number)] == [created.stripe_invoice_id]


def customers_of_tenant(stack, slug: str, tenant_id) -> list[str]:
    client = StripeClient(stack.stripe.api_key.get_secret_value(), base_addresses={"api": stack.stripe_api_base})
    listed = client.v1.customers.list(params={"email": f"billing@{slug}.invalid", "limit": 100}).data
    return [c.id for c in listed if (c.to_dict().get("metadata") or {}).get("meterline_tenant_id") == str(tenant_id)]


async def test_first_invoicing_records_the_customer_creation_and_a_rerun_after_a_crash_finds_it(stack, unique_slug):
    tenant, _, _ = await subscribe_with_change(stack, unique_slug)
    # The first run marks the creation started (committed before Stripe is called),
    # then, like a crash right after Stripe created the customer, loses the id.
    engine = pg_sync_engine(stack)
    with engine.begin() as conn:
        assert start_customer_creation(conn, tenant.id)
    with engine.begin() as conn:
        assert not start_customer_creation(conn, tenant.id)  # once, and only once
    engine.dispose()
    gateway = StripeAdapter(stack.stripe.api_key.get_secret_value(), stack.stripe_api_base, local=True)
    orphan = gateway.ensure_customer(str(tenant.id), unique_slug.title(), f"billing@{unique_slug}.invalid", None,
                                     recover=False)
    assert await customer_of(stack, tenant.id) is None

    summaries = [s for s in generate_invoices(period="2026-10") if s.tenant_slug == unique_slug]
    assert [(s.total_minor, s.status) for s in summaries] == [(6835, "paid")]
    # The rerun found the customer the crashed run created instead of making a second one.
    assert await customer_of(stack, tenant.id) == orphan
    assert customers_of_tenant(stack, unique_slug, tenant.id) == [orphan]


async def test_a_tenant_without_a_customer_gets_exactly_one_through_the_flow(stack, unique_slug):
    tenant, _, _ = await subscribe_with_change(stack, unique_slug)
    summaries = [s for s in generate_invoices(period="2026-10") if s.tenant_slug == unique_slug]
    assert [(s.total_minor, s.status) for s in summaries] == [(6835, "paid")]
    customer_id = await customer_of(stack, tenant.id)
    assert customer_id and customers_of_tenant(stack, unique_slug, tenant.id) == [customer_id]
    engine = pg_sync_engine(stack)
    with engine.begin() as conn:  # the flow set its record
        assert not start_customer_creation(conn, tenant.id)
    engine.dispose()


async def test_one_failing_tenant_in_a_batch_leaves_the_others_invoiced(stack, unique_slug):
    """Tenants share a task (a batch); each one's failure stays its own outcome."""
    good, _, _ = await subscribe_with_change(stack, unique_slug)
    bad = await create_tenant(stack, f"{unique_slug}-bad", [("users", "login", "UNIQUE_COUNT", "user")])
    unbillable = Plan.model_validate({
        "slug": f"users-{unique_slug}", "name": "Per user", "currency": "USD", "flat_fee": "5.00",
        "charges": [{"meter_slug": "users", "model": "unit", "unit_price": "1.00"}]})
    starter, pro = plans(unique_slug)
    spans = {
        str(good.id): [{"plan": starter.model_dump(mode="json"), "started_at": at(20, month=9), "ended_at": at(11)},
                       {"plan": pro.model_dump(mode="json"), "started_at": at(11), "ended_at": None}],
        str(bad.id): [{"plan": unbillable.model_dump(mode="json"), "started_at": at(1), "ended_at": None}],
    }
    # The failing tenant first: the one after it in the batch is still invoiced.
    outcomes = invoice_tenants([(str(bad.id), spans[str(bad.id)]), (str(good.id), spans[str(good.id)])],
                               date(2026, 10, 1), date(2026, 11, 1), now=at(1, month=11))
    assert [o.tenant_id for o in outcomes] == [str(bad.id), str(good.id)]
    assert isinstance(outcomes[0].error, UnbillableMeterError) and outcomes[0].summary is None
    assert "users" in str(outcomes[0].error)
    assert outcomes[1].error is None
    assert (outcomes[1].summary.total_minor, outcomes[1].summary.status) == (6835, "paid")
