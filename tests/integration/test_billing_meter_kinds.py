"""Non-additive meters billed from real usage_hourly rows (PostgreSQL, localstripe, Prefect):
per segment of a plan change, MAX is the largest row over the segment's hours and groups and
LATEST the row with the greatest (latest_at, latest_id); COUNT sums. The limit check reads the
same totals. An unpriced UNIQUE_COUNT meter changes nothing."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import update

from billing_jobs.plans import Plan
from flows.invoicing import generate_invoices
from meterline.bootstrap import pg_engine, pg_sync_engine
from metering import UsageDelta, group_key
from tests.support.tenants import create_tenant
from warehouse.postgres.billing_limits import PgLimitStore
from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription
from warehouse.postgres.tables import subscription
from warehouse.postgres.usage import upsert_usage

pytestmark = pytest.mark.integration

D = Decimal


def at(day: int, hour: int = 0, minute: int = 0, month: int = 2) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


def plan(slug: str, peak: str, seats: str, calls: str) -> Plan:
    return Plan.model_validate({"slug": slug, "name": slug, "currency": "USD", "flat_fee": "28.00", "charges": [
        {"meter_slug": "peak", "model": "unit", "unit_price": peak},
        {"meter_slug": "seats", "model": "unit", "unit_price": seats},
        {"meter_slug": "calls", "model": "unit", "unit_price": calls}]})


def row(slug: str, aggregation: str, window: datetime, group: dict, quantity: int,
        latest: tuple[datetime, str] | None = None):
    latest_at, latest_id = latest or (None, None)
    return ("hour", slug, group_key(group), window, aggregation, UsageDelta(D(quantity), 1, latest_at, latest_id))


EU, US, TEAM_A, TEAM_B = {"region": "eu"}, {"region": "us"}, {"team": "a"}, {"team": "b"}

ROWS = [
    # Plan A, Feb 1-15.
    row("peak", "MAX", at(3, 10), EU, 40), row("peak", "MAX", at(3, 10), US, 55), row("peak", "MAX", at(10, 1), EU, 70),
    row("seats", "LATEST", at(5, 9), TEAM_A, 5, (at(5, 9, 30), "e1")),
    row("seats", "LATEST", at(14, 23), TEAM_B, 8, (at(14, 23, 10), "e2")),   # the latest before the change
    row("seats", "LATEST", at(14, 23), TEAM_A, 6, (at(14, 23, 5), "e3")),
    row("calls", "COUNT", at(2), EU, 100), row("calls", "COUNT", at(2), US, 50),
    # Plan B, Feb 15 - Mar 1.
    row("peak", "MAX", at(20), US, 30), row("peak", "MAX", at(21), EU, 20),
    row("seats", "LATEST", at(16, 10), TEAM_A, 4, (at(16, 10, 50), "e4")),
    row("seats", "LATEST", at(16, 10), TEAM_B, 9, (at(16, 10, 50), "e9")),   # same time: the greater id wins
    row("calls", "COUNT", at(20), EU, 1000),
    # Not priced by either plan: left out, and no reason to fail the invoice.
    row("users", "UNIQUE_COUNT", at(20), {}, 0),
]


async def test_segments_bill_max_and_latest_by_their_rule(stack, unique_slug):
    tenant = await create_tenant(stack, unique_slug, [("peak", "storage", "MAX", "gb"), ("seats", "seat", "LATEST", "n"),
                                                      ("calls", "api.call", "COUNT", None),
                                                      ("users", "login", "UNIQUE_COUNT", "user")])
    old, new = plan(f"a-{unique_slug}", "1.00", "2.00", "0.01"), plan(f"b-{unique_slug}", "0.50", "3.00", "0.02")
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        for p in (old, new):
            await insert_plan(conn, p)
        old_id, _ = await get_plan(conn, old.slug)
        new_id, _ = await get_plan(conn, new.slug)
        await insert_subscription(conn, tenant.id, old_id, started_at=at(1), status="canceled")
        await conn.execute(update(subscription).where(subscription.c.tenant_id == tenant.id)
                           .values(canceled_at=at(15)))
        await insert_subscription(conn, tenant.id, new_id, started_at=at(15), status="canceled")
        await conn.execute(update(subscription).where(subscription.c.tenant_id == tenant.id,
                                                      subscription.c.started_at == at(15))
                           .values(canceled_at=at(1, month=3)))
        await upsert_usage(conn, tenant.id, ROWS)
    await engine.dispose()

    [invoice] = generate_invoices(period="2026-02", tenants=[str(tenant.id)])
    assert [amount for _, amount in invoice.lines] == [
        1400,  # plan A: 28.00 for 14 of 28 days
        7000,  # peak: max(40, 55, 70) = 70 GB at 1.00 (a sum would be 165)
        1600,  # seats: latest before the change, 8 (team b, 23:10) at 2.00 (a sum would be 19)
        150,   # calls: 100 + 50 at 0.01
        1400,  # plan B: 28.00 for 14 of 28 days
        1500,  # peak: max(30, 20) = 30 at 0.50
        2700,  # seats: 9 (id e9 beats e4 at the same time) at 3.00
        2000,  # calls: 1000 at 0.02
    ], invoice.lines
    assert invoice.total_minor == 17750

    # The limit check totals its window by the same rule (UNIQUE_COUNT left out).
    limits = PgLimitStore(pg_sync_engine(stack))
    assert limits.usage(str(tenant.id), at(15), at(1, month=3)) == {"peak": D(30), "seats": D(9), "calls": D(1000)}
    assert limits.usage(str(tenant.id), at(1), at(15)) == {"peak": D(70), "seats": D(8),
                                                                          "calls": D(150)}
