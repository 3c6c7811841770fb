"""Cancellation through the invoice flow (real PostgreSQL, localstripe, Prefect): at once
(the fee prorated, later usage unbilled) and at period end; neither is billed afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from billing_jobs.plans import Plan
from flows.invoicing import generate_invoices
from meterline.bootstrap import pg_engine, pg_sync_engine
from metering import UsageDelta
from tests.support.tenants import create_tenant
from warehouse.postgres.billing_limits import PgLimitStore
from warehouse.postgres.plans import (
    cancel_subscription, current_subscription, end_expired_subscriptions, get_plan, insert_plan, insert_subscription,
)
from warehouse.postgres.tables import subscription
from warehouse.postgres.usage import add_usage

pytestmark = pytest.mark.integration


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


async def subscribed(stack, slug: str, canceled_at: datetime):
    tenant = await create_tenant(stack, slug, [("api", "api.call", "COUNT", None)])
    plan = Plan.model_validate({"slug": f"c-{slug}", "name": "Monthly", "currency": "USD", "flat_fee": "31.00",
                                "charges": [{"meter_slug": "api", "model": "unit", "unit_price": "0.01"}]})
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant.id, plan_id, started_at=at(9, 1))
        await add_usage(conn, tenant.id, [("api", at(10, 10), UsageDelta(Decimal(100), 100)),
                                                   ("api", at(10, 20), UsageDelta(Decimal(900), 900)),
                                                   ("api", at(11, 2), UsageDelta(Decimal(50), 50))])
        await cancel_subscription(conn, tenant.id, canceled_at)
    await engine.dispose()
    return tenant


async def test_cancel_at_once_and_at_period_end(stack, unique_slug):
    at_once = await subscribed(stack, unique_slug + "a", at(10, 16))
    at_end = await subscribed(stack, unique_slug + "e", at(11, 1))

    october = {s.tenant_slug: s for s in generate_invoices(period="2026-10")}
    # At once on the 16th: 15 of 31 days of 31.00 = 15.00; the 900 calls of the 20th come after it.
    assert october[at_once.slug].total_minor == 1500 + 100
    assert october[at_once.slug].lines[0][0].endswith("15 of 31 days)")
    # At period end: the whole month, all its usage.
    assert october[at_end.slug].total_minor == 3100 + 1000

    november = {s.tenant_slug for s in generate_invoices(period="2026-11")}
    assert at_once.slug not in november and at_end.slug not in november


async def test_cancel_in_the_future_keeps_the_subscription_live_until_then(stack, unique_slug):
    tenant = await create_tenant(stack, unique_slug, [("api", "api.call", "COUNT", None)])
    plan = Plan.model_validate({"slug": f"f-{unique_slug}", "name": "Monthly", "currency": "USD"})
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant.id, plan_id, started_at=at(9, 1))
        scheduled = await cancel_subscription(conn, tenant.id, at(11, 1), now=at(10, 10))
        # Scheduled, not ended: same status, the end recorded.
        assert (scheduled.status, scheduled.canceled_at) == ("active", at(11, 1))
        assert (await current_subscription(conn, tenant.id, at(10, 31, 23))).id == scheduled.id
        assert await current_subscription(conn, tenant.id, at(11, 1)) is None
    # The limit check agrees (so do ingest's blocks: the same clause).
    limits = PgLimitStore(pg_sync_engine(stack))
    assert str(tenant.id) in {s.tenant_id for s in limits.subjects(at(10, 31, 23))}
    assert str(tenant.id) not in {s.tenant_id for s in limits.subjects(at(11, 1))}
    async with engine.begin() as conn:
        # Once the end has passed, the row is settled, so a new subscription fits the one-live index.
        assert await end_expired_subscriptions(conn, tenant.id, at(11, 2)) == 1
        again = await insert_subscription(conn, tenant.id, plan_id, started_at=at(11, 2))
        # With the database's clock: an end in the (real) future schedules, one in the past ends.
        later = datetime.now(timezone.utc) + timedelta(days=1)
        assert (await cancel_subscription(conn, tenant.id, later)).status == "active"
        assert (await cancel_subscription(conn, tenant.id, at(11, 3))).status == "canceled"
        assert await cancel_subscription(conn, tenant.id, at(11, 3)) is None
        await conn.execute(subscription.delete().where(subscription.c.id == again.id))  # keep November clean
    await engine.dispose()
    # Billed for all of October (no fee, no usage here: a zero invoice), not for November.
    assert unique_slug in {s.tenant_slug for s in generate_invoices(period="2026-10", tenants=[str(tenant.id)])}
    assert generate_invoices(period="2026-11", tenants=[str(tenant.id)]) == []
