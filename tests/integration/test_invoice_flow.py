"""The invoice flow on real PostgreSQL, localstripe and a Prefect server: exact, and idempotent."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from stripe import StripeClient

from billing_jobs.plans import Plan
from flows.invoicing import generate_invoices, parse_period
from meterline.bootstrap import pg_engine, pg_sync_engine
from metering import UsageDelta
from tests.support.tenants import create_tenant
from warehouse.postgres.invoices import PgInvoiceStore
from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription
from warehouse.postgres.usage import add_usage

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("period", "today", "expected"), [
    ("2026-10", date(2026, 11, 25), (date(2026, 10, 1), date(2026, 11, 1))),
    (None, date(2026, 11, 25), (date(2026, 10, 1), date(2026, 11, 1))),
    (None, date(2027, 1, 1), (date(2026, 12, 1), date(2027, 1, 1))),
], ids=["explicit", "last-month", "year-boundary"])
def test_parse_period(period, today, expected):
    assert parse_period(period, today) == expected


async def test_invoice_flow_bills_usage_times_prices_once(stack, unique_slug):
    tenant = await create_tenant(stack, unique_slug, [("calls", "api.call", "COUNT", None)])
    plan = Plan.model_validate({
        "slug": f"plan-{unique_slug}", "name": "Test", "currency": "USD", "flat_fee": "10.00",
        "charges": [{"model": "unit", "meter_slug": "calls", "unit_price": "0.0125"}],
    })
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant.id, plan_id, started_at=datetime(2026, 9, 15, tzinfo=timezone.utc))
        await add_usage(conn, tenant.schema_name, [
            ("calls", datetime(2026, 10, 3, 4, tzinfo=timezone.utc), UsageDelta(Decimal(1000), 1000)),
            ("calls", datetime(2026, 10, 31, 23, tzinfo=timezone.utc), UsageDelta(Decimal(234), 234)),
            # Outside the period: must not be billed.
            ("calls", datetime(2026, 11, 1, 0, tzinfo=timezone.utc), UsageDelta(Decimal(99), 99)),
        ])
    await engine.dispose()

    first = [s for s in generate_invoices(period="2026-10") if s.tenant_slug == unique_slug]
    second = [s for s in generate_invoices(period="2026-10") if s.tenant_slug == unique_slug]

    # 10.00 flat + 1234 calls x 0.0125 = 15.425 -> 15.43 (half up) => 25.43 USD
    assert [s.total_minor for s in first] == [2543]
    assert second == first
    stored = PgInvoiceStore(pg_sync_engine(stack)).get(str(tenant.id), first[0].number)
    assert stored.status == "paid" and stored.draft.total_minor == 2543
    stripe = StripeClient(stack.stripe.api_key.get_secret_value(), base_addresses={"api": stack.stripe_api_base})
    async with pg_engine(stack).connect() as conn:
        from warehouse.postgres.tenants import get_tenant

        customer_id = (await get_tenant(conn, tenant.id)).stripe_customer_id
    invoices = [i for i in stripe.v1.invoices.list(params={"customer": customer_id}).data if i.total > 0]
    assert [(i.id, i.total, i.status) for i in invoices] == [(stored.stripe_invoice_id, 2543, "paid")]
