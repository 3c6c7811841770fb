"""Dunning through its Prefect flow, on real PostgreSQL and localstripe with a declining card.

The invoice flow charges card 4000000000000341 (attaches, then every charge
is declined); `run_dunning(now=...)` is then run as of later days.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import stripe
from sqlalchemy import select

from billing_jobs.plans import Plan
from billing_jobs.stripe import StripeAdapter
from flows.dunning import run_dunning
from flows.invoicing import generate_invoices
from meterline.bootstrap import pg_engine, pg_sync_engine
from tests.support.tenants import create_tenant
from warehouse.postgres.billing_tables import billing_outbox
from warehouse.postgres.invoices import PgInvoiceStore
from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription
from warehouse.postgres.tables import subscription, tenant as tenant_table
from warehouse.postgres.tenants import set_stripe_customer

pytestmark = pytest.mark.integration

DECLINING = "4000000000000341"
GOOD = "4242424242424242"


def use_card(server, customer_id: str, number: str) -> None:
    card = server.payment_methods.create(params={"type": "card", "card": {
        "number": number, "exp_month": 12, "exp_year": 2099, "cvc": "123"}})
    server.payment_methods.attach(card.id, params={"customer": customer_id})
    server.customers.update(customer_id, params={"invoice_settings": {"default_payment_method": card.id}})


@pytest.fixture
def server(stripe_service):
    return stripe.StripeClient(stripe_service.api_key, base_addresses={"api": stripe_service.api_base},
                               max_network_retries=0).v1


@pytest.fixture
async def declined(stack, unique_slug, server):
    """A tenant whose October invoice (25.00 USD) was declined; returns (tenant, customer, number, issued_at)."""
    tenant = await create_tenant(stack, unique_slug)
    plan = Plan.model_validate({"slug": f"dun-{unique_slug}", "name": "Dun", "currency": "USD", "flat_fee": "25.00"})
    adapter = StripeAdapter(stack.stripe.api_key.get_secret_value(), stack.stripe_api_base, local=True)
    customer_id = adapter.ensure_customer(str(tenant.id), unique_slug.title(), f"billing@{unique_slug}.invalid", None)
    use_card(server, customer_id, DECLINING)
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant.id, plan_id, started_at=datetime(2026, 9, 1, tzinfo=timezone.utc))
        await set_stripe_customer(conn, tenant.id, customer_id)
    await engine.dispose()
    [summary] = [s for s in generate_invoices(period="2026-10") if s.tenant_slug == unique_slug]
    assert (summary.status, summary.total_minor) == ("payment_failed", 2500)
    return tenant, customer_id, summary.number, datetime.now(timezone.utc)


def dun(tenant, issued_at: datetime, day: int) -> list[str]:
    steps = run_dunning(now=issued_at + timedelta(days=day, minutes=1), tenant_id=str(tenant.id))[str(tenant.id)]
    return [step.split(":", 1)[1] for step in steps]


def state(stack, tenant) -> tuple[str, str, list[str]]:
    engine = pg_sync_engine(stack)
    with engine.connect() as conn:
        tenant_status = conn.execute(select(tenant_table.c.status).where(tenant_table.c.id == tenant.id)).scalar_one()
        sub_status = conn.execute(select(subscription.c.status).where(subscription.c.tenant_id == tenant.id)).scalar_one()
        mails = conn.execute(select(billing_outbox.c.body["kind"].astext).where(billing_outbox.c.tenant_id == tenant.id)
                             .order_by(billing_outbox.c.created_at)).scalars().all()
    engine.dispose()
    return tenant_status, sub_status, list(mails)


async def test_a_declined_invoice_runs_the_whole_sequence_and_a_payment_lifts_it(stack, declined, server):
    tenant, customer_id, number, issued_at = declined
    store = PgInvoiceStore(pg_sync_engine(stack))
    assert dun(tenant, issued_at, 2) == []
    assert dun(tenant, issued_at, 3) == ["reminder_3"]
    assert dun(tenant, issued_at, 3) == []  # the same day again: nothing twice
    assert dun(tenant, issued_at, 7) == ["reminder_7"]
    assert dun(tenant, issued_at, 14) == ["reminder_14"]
    assert dun(tenant, issued_at, 15) == ["past_due"]
    assert state(stack, tenant)[:2] == ("active", "past_due")
    assert dun(tenant, issued_at, 21) == []
    assert dun(tenant, issued_at, 22) == ["suspend"]
    assert state(stack, tenant) == ("suspended", "past_due", [
        "dunning.remind", "dunning.remind", "dunning.remind", "dunning.past_due", "dunning.suspend"])
    assert store.get(str(tenant.id), number).status == "payment_failed"

    # The customer fixes the card and pays; the webhook (tested elsewhere) marks the invoice paid.
    use_card(server, customer_id, GOOD)
    stripe_id = store.get(str(tenant.id), number).stripe_invoice_id
    assert server.invoices.pay(stripe_id).status == "paid"
    store.set_status(str(tenant.id), number, "paid")
    assert dun(tenant, issued_at, 23) == ["reinstate"]
    assert state(stack, tenant)[:2] == ("active", "active")
    assert dun(tenant, issued_at, 30) == []


async def test_a_payment_in_the_middle_stops_the_sequence(stack, declined, server):
    tenant, customer_id, number, issued_at = declined
    assert dun(tenant, issued_at, 3) == ["reminder_3"]
    use_card(server, customer_id, GOOD)
    # Day 7: the reminder's retry of the charge succeeds, so no reminder is sent.
    assert dun(tenant, issued_at, 7) == []
    assert PgInvoiceStore(pg_sync_engine(stack)).get(str(tenant.id), number).status == "paid"
    for day in (14, 15, 22, 40):
        assert dun(tenant, issued_at, day) == []
    assert state(stack, tenant) == ("active", "active", ["dunning.remind"])
