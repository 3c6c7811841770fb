"""PgInvoiceStore on real PostgreSQL: what it returns without reading back is what is stored."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing_jobs.errors import PermanentError
from billing_jobs.invoicing import compose_invoice
from billing_jobs.plans import Plan
from meterline.bootstrap import pg_sync_engine
from tests.support.tenants import create_tenant
from warehouse.postgres.invoices import PgInvoiceStore

pytestmark = pytest.mark.integration

PLAN = Plan.model_validate({
    "slug": "store", "name": "Store", "currency": "USD", "flat_fee": "49.00",
    "charges": [{"model": "graduated", "meter_slug": "api", "included_usage": "100", "tiers": [
        {"up_to": "1000", "unit_price": "0.0125"}, {"up_to": None, "unit_price": "0.004"}]}],
})


@pytest.fixture
async def tenant(stack, unique_slug):
    return await create_tenant(stack, unique_slug)


@pytest.fixture
def engine(stack):
    engine = pg_sync_engine(stack)
    yield engine
    engine.dispose()


def draft_for(tenant, start=date(2026, 10, 1), end=date(2026, 11, 1)):
    return compose_invoice(tenant_slug=tenant.slug, tenant_id=str(tenant.id), plan=PLAN,
                           usage={"api": Decimal("2345.5")}, period_start=start, period_end=end)


def test_create_returns_what_a_read_returns(engine, tenant):
    draft = draft_for(tenant)
    # The flow hands over the tenant it read; a store without it looks it up.
    created = PgInvoiceStore(engine, tenants={str(tenant.id): tenant.slug}).create(
        str(tenant.id), draft)
    read = PgInvoiceStore(engine).get(str(tenant.id), draft.number)
    assert created == read
    assert (created.status, created.stripe_invoice_id) == ("draft", None)
    assert created.draft.total_minor == read.draft.total_minor and len(read.draft.lines) == len(draft.lines) > 1


def test_creating_again_returns_the_stored_invoice_unchanged(engine, tenant):
    store = PgInvoiceStore(engine)
    first = store.create(str(tenant.id), draft_for(tenant))
    store.attach_stripe(str(tenant.id), first.number, "in_store_test", "open")
    recomposed = compose_invoice(tenant_slug=tenant.slug, tenant_id=str(tenant.id), plan=PLAN,
                                 usage={"api": Decimal(1)}, period_start=date(2026, 10, 1),
                                 period_end=date(2026, 11, 1))
    again = store.create(str(tenant.id), recomposed)
    assert again.draft == first.draft and again.draft.total_minor != recomposed.total_minor
    assert (again.status, again.stripe_invoice_id) == ("open", "in_store_test")


def test_updating_an_invoice_that_is_not_stored_is_a_permanent_error(engine, tenant):
    store = PgInvoiceStore(engine)
    with pytest.raises(PermanentError, match="vanished"):
        store.attach_stripe(str(tenant.id), "INV-NOT-STORED", "in_x", "open")
    with pytest.raises(PermanentError, match="vanished"):
        store.set_status(str(tenant.id), "INV-NOT-STORED", "paid")
    stored = store.create(str(tenant.id), draft_for(tenant))
    store.set_status(str(tenant.id), stored.number, "paid")
    assert store.get(str(tenant.id), stored.number).status == "paid"
