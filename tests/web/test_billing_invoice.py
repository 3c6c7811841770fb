"""Billing with a real invoice: usage pushed through ingest, the invoice flow run for the
period, and the invoice and each of its lines on screen equal to the API's."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from tests.support.web import push_events, register_tenant, screenshot_dir, wait_for_totals

from .pages import shot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _invoice_period(tenant_id: str) -> None:
    from flows.invoicing import generate_invoices

    today = datetime.now(timezone.utc)
    period = today.strftime("%Y-%m")
    # The period is still open: the guard's clock is set to its end, when it may be invoiced.
    period_end = datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=timezone.utc)
    # In a thread of its own: the flow runs asyncio, which the open browser's thread cannot.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(generate_invoices, period=period, tenants=[tenant_id], now=period_end).result(timeout=300)


def _money(minor: int) -> str:
    return f"-${-minor / 100:,.2f}" if minor < 0 else f"${minor // 100:,}.{minor % 100:02d}"


def test_invoice_and_its_lines_equal_the_api(page, app_url, api, ingest, plan, app_stack):
    tenant = register_tenant(api, plan)
    push_events(ingest, tenant, calls=1234, tokens=["5000", "250.5"])
    now = datetime.now(timezone.utc)
    wait_for_totals(api, tenant, {"from": now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).isoformat(),
                                  "window": "month"})
    _invoice_period(tenant.tenant_id)
    invoices = api.get("/v1/invoices", headers=tenant.auth).json()
    assert len(invoices) == 1
    invoice = invoices[0]
    sign_in(page, app_url, tenant)
    page.get_by_role("link", name="Billing").click()
    assert page.get_by_test_id(f"invoice-total-{invoice['number']}").text_content() == _money(invoice["total_minor"])
    page.get_by_role("button", name=invoice["number"]).click()
    shown = page.get_by_test_id("line-amount").all_text_contents()
    assert shown == [_money(line["amount_minor"]) for line in invoice["lines"]]
    assert any(line["meter_slug"] == "api-calls" and line["quantity"] == "1234" for line in invoice["lines"])
    page.get_by_role("cell", name="1,234", exact=True).wait_for()
    shot(page, screenshot_dir(app_stack), "billing-invoice")
