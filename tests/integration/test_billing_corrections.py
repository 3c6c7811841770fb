"""Late usage for an issued invoice's period becomes lines of its own on the next invoice,
rated at the margin under the plan of that period, and marked applied in the transaction
that stores the invoice; on real PostgreSQL, localstripe and Prefect.

The late events are written with the stream's own writers (usage_hourly + usage_correction),
as its PostgreSQL sink does for an hour inside an issued invoice's period.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from billing_jobs.corrections import AppliedCorrection
from billing_jobs.errors import RetryableError
from billing_jobs.invoicing import compose_invoice
from billing_jobs.plans import Plan
from flows.invoicing import generate_invoices
from meterline.bootstrap import pg_engine, pg_sync_engine
from metering import UsageDelta
from tests.support.tenants import create_tenant
from warehouse.postgres.invoices import PgInvoiceStore
from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription
from warehouse.postgres.usage import add_corrections, add_usage, usage_correction

pytestmark = pytest.mark.integration
D = Decimal


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


async def late(stack, tenant, number: str, window: datetime, quantity: int) -> None:
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        delta = UsageDelta(D(quantity), quantity)
        await add_usage(conn, tenant.id, [("api", window, delta)])
        await add_corrections(conn, tenant.id,
                              [(number, "api", window, delta.quantity, delta.event_count, "delta")])
    await engine.dispose()


def invoice_of(summaries, slug):
    [summary] = [s for s in summaries if s.tenant_slug == slug]
    return summary


def corrections(stack, tenant) -> list[tuple[str, Decimal, str | None]]:
    engine = pg_sync_engine(stack)
    with engine.connect() as conn:
        rows = conn.execution_options(schema_translate_map={"tenant": tenant.schema_name}).execute(
            select(usage_correction.c.invoice_number, usage_correction.c.quantity,
                   usage_correction.c.applied_invoice_number).order_by(usage_correction.c.id)).all()
    engine.dispose()
    return [(n, D(q), a) for n, q, a in rows]


async def test_late_usage_billed_on_the_next_invoices(stack, unique_slug):
    tenant = await create_tenant(stack, unique_slug, [("api", "api.call", "COUNT", None)])
    plan = Plan.model_validate({
        "slug": f"grad-{unique_slug}", "name": "Graduated", "currency": "USD", "flat_fee": "10.00",
        "charges": [{"meter_slug": "api", "model": "graduated", "tiers": [
            {"up_to": "1000", "unit_price": "0.01"}, {"up_to": None, "unit_price": "0.005"}]}]})
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant.id, plan_id, started_at=at(9, 1))
        await add_usage(conn, tenant.id, [("api", at(10, 5, 10), UsageDelta(D(900), 900)),
                                                   ("api", at(11, 3, 8), UsageDelta(D(100), 100))])
    await engine.dispose()
    slug = unique_slug.upper()

    # October: 10.00 fee + 900 x 0.01 = 19.00.
    october = invoice_of(generate_invoices(period="2026-10"), unique_slug)
    assert (october.number, october.total_minor, october.status) == (f"ML-{slug}-202610", 1900, "paid")

    # 300 units for 5 Oct arrive after October was invoiced.
    await late(stack, tenant, october.number, at(10, 5, 10), 300)

    # November: 10.00 fee + 100 x 0.01 = 11.00, plus October's correction at the margin:
    # 1200 units cost 1000 x 0.01 + 200 x 0.005 = 11.00, the 900 billed cost 9.00: 2.00.
    november = invoice_of(generate_invoices(period="2026-11"), unique_slug)
    assert november.total_minor == 1000 + 100 + 200
    *_, (description, amount) = november.lines
    assert amount == 200 and description.startswith(f"Late usage for invoice {october.number}: api: 300 units")
    assert corrections(stack, tenant) == [(october.number, D(300), november.number)]
    # October itself is unchanged, and a rerun changes nothing.
    assert invoice_of(generate_invoices(period="2026-10"), unique_slug).total_minor == 1900
    assert invoice_of(generate_invoices(period="2026-11"), unique_slug).total_minor == 1300

    # 50 more for October after November was issued: December bills them (1250 -> 11.25, was 11.00).
    await late(stack, tenant, october.number, at(10, 5, 10), 50)
    # December, as of its close (the period guard bills closed months only).
    december = invoice_of(generate_invoices(period="2026-12", now=datetime(2027, 1, 1, tzinfo=timezone.utc)), unique_slug)
    assert december.total_minor == 1000 + 0 + 25
    stored = PgInvoiceStore(pg_sync_engine(stack)).get(str(tenant.id), december.number)
    [line] = [line for line in stored.draft.lines if line.kind == "correction"]
    assert (line.meter_slug, line.quantity, line.amount_minor) == ("api", D(50), 25)
    assert corrections(stack, tenant) == [(october.number, D(300), november.number),
                                          (october.number, D(50), december.number)]


async def test_a_correction_that_grew_meanwhile_stores_nothing(stack, unique_slug):
    """The stream added to a pending correction after the flow read it: storing the invoice
    that billed the old quantity would lose the new units, so nothing is stored (retryable)."""
    tenant = await create_tenant(stack, unique_slug, [("api", "api.call", "COUNT", None)])
    plan = Plan.model_validate({"slug": f"u-{unique_slug}", "name": "U", "currency": "USD", "flat_fee": "1"})
    store = PgInvoiceStore(pg_sync_engine(stack))
    october = compose_invoice(tenant_slug=unique_slug, tenant_id=str(tenant.id), plan=plan, usage={},
                              period_start=date(2026, 10, 1), period_end=date(2026, 11, 1))
    store.create(str(tenant.id), october)
    await late(stack, tenant, october.number, at(10, 2), 5)
    [(_, quantity, _)] = corrections(stack, tenant)
    engine = pg_sync_engine(stack)
    with engine.connect() as conn:
        [correction_id] = conn.execution_options(schema_translate_map={"tenant": tenant.schema_name}).execute(
            select(usage_correction.c.id)).scalars().all()
    engine.dispose()
    await late(stack, tenant, october.number, at(10, 2), 2)  # the stream, meanwhile

    november = compose_invoice(tenant_slug=unique_slug, tenant_id=str(tenant.id), plan=plan, usage={},
                               period_start=date(2026, 11, 1), period_end=date(2026, 12, 1))
    with pytest.raises(RetryableError):
        store.create(str(tenant.id), november, applied_corrections=[AppliedCorrection(correction_id, quantity, 5)])
    assert store.get(str(tenant.id), november.number) is None
    assert corrections(stack, tenant) == [(october.number, D(7), None)]
