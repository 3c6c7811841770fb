"""The tenant's billing in the browser beyond the invoice list: the running invoice with its
"final up to" watermark, an issued invoice's usage line opened to its windows and events,
payments, late-usage corrections, and a plan change's prorated flat fees before confirming.
Each number on screen is compared with the API's answer to the same request."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.support.operators import operator_headers_sync
from tests.support.web import push_events, register_tenant, screenshot_dir, wait_for_totals

from .pages import en_us_quantity, shot, sign_in
from .test_billing_invoice import _invoice_period, _money

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _month_start() -> str:
    return datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0).isoformat()


def _en_us_instant_seconds(iso: str) -> str:
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(timezone.utc)
    return f"{at:%b} {at.day}, {at.year}, {at:%H:%M:%S}"


def test_dashboard_shows_the_running_invoice_and_its_watermark(page, app_url, api, tenant_with_usage, app_stack):
    wait_for_totals(api, tenant_with_usage, {"from": _month_start(), "window": "month"})
    # The numbers on screen are those of the very answer the page received.
    with page.expect_response(lambda r: r.url.endswith("/v1/invoices/preview")) as answered:
        sign_in(page, app_url, tenant_with_usage)
    preview = answered.value.json()
    assert preview["final_up_to"] is not None
    assert page.get_by_test_id("preview-total").text_content() == _money(preview["total_minor"])
    shown = page.get_by_test_id("final-up-to").text_content()
    assert f"Final up to {_en_us_instant_seconds(preview['final_up_to'])} UTC" in shown
    page.get_by_text("Lines", exact=True).click()
    assert page.get_by_test_id("preview-line-amount").all_text_contents() == [_money(line["amount_minor"]) for line in preview["lines"]]
    calls = next(line for line in preview["lines"] if line["meter_slug"] == "api-calls" and line["kind"] == "usage")
    assert en_us_quantity(calls["quantity"]) in page.get_by_test_id("preview-line-quantity").all_text_contents()
    # The same answer as the API gives now (nothing arrived since).
    again = api.get("/v1/invoices/preview", headers=tenant_with_usage.auth).json()
    assert again["total_minor"] == preview["total_minor"]
    shot(page, screenshot_dir(app_stack), "dashboard-invoice-preview")


def _wait_for_correction(api, tenant, timeout_s: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while not (found := api.get("/v1/corrections", params={"state": "all"}, headers=tenant.auth).json()["corrections"]):
        assert time.monotonic() < deadline, "no correction was recorded for the late event"
        time.sleep(0.5)
    return found


def test_invoice_line_opens_to_windows_and_events_with_payments_and_corrections(page, app_url, api, ingest, plan, app_stack):
    tenant = register_tenant(api, plan)
    push_events(ingest, tenant, calls=7, tokens=["5000", "250.5", "0.25"])
    wait_for_totals(api, tenant, {"from": _month_start(), "window": "month"})
    _invoice_period(tenant.tenant_id)
    invoice = api.get("/v1/invoices", headers=tenant.auth).json()[0]
    # Late usage for the invoiced period: a correction, pending until the next invoice.
    push_events(ingest, tenant, calls=2, tokens=[])
    corrections = _wait_for_correction(api, tenant)
    payments = api.get("/v1/payments", headers=tenant.auth).json()["payments"]

    sign_in(page, app_url, tenant)
    page.get_by_role("link", name="Billing").click()
    page.get_by_role("button", name=invoice["number"]).click()
    tokens_line = next(line for line in invoice["lines"] if line["meter_slug"] == "llm-tokens" and line["kind"] == "usage")
    page.get_by_role("button", name=tokens_line["description"]).click()
    position = tokens_line["position"]
    windows = api.get(f"/v1/invoices/{invoice['number']}/lines/{position}/windows", headers=tenant.auth).json()
    page.get_by_test_id(f"line-windows-{position}").wait_for()
    assert page.get_by_test_id(f"windows-total-{position}").text_content() == en_us_quantity(windows["total_quantity"])
    assert page.get_by_test_id(f"windows-events-{position}").text_content() == str(windows["total_events"])
    drill = page.get_by_test_id(f"line-drill-{position}")
    assert drill.get_by_test_id("window-quantity").all_text_contents() == [en_us_quantity(w["quantity"]) for w in windows["windows"]]
    assert drill.get_by_test_id("window-events").all_text_contents() == [str(w["event_count"]) for w in windows["windows"]]
    assert windows["total_quantity"] == "5250.75" and windows["total_events"] == 3
    drill.get_by_role("button", name="Show the events").click()
    events = api.get(f"/v1/invoices/{invoice['number']}/lines/{position}/events", headers=tenant.auth).json()
    page.get_by_test_id(f"line-events-{position}").wait_for()
    assert drill.get_by_test_id("event-value").all_text_contents() == [en_us_quantity(e["value"]) for e in events["events"]]
    assert sorted(Decimal(e["value"]) for e in events["events"]) == sorted(Decimal(t) for t in ["5000", "250.5", "0.25"])

    table = page.get_by_test_id("corrections")
    for correction in corrections:
        row = table.get_by_test_id(f"correction-{correction['id']}")
        assert correction["invoice_number"] in row.text_content()
        expected = "pending: next invoice" if correction["state"] == "pending" else f"applied on {correction['applied_invoice_number']}"
        assert expected in row.text_content()
    assert any(c["state"] == "pending" and c["meter_slug"] == "api-calls" and Decimal(c["quantity"]) == 2 for c in corrections)
    if payments:
        assert page.get_by_test_id("payment-amount").all_text_contents() == [_money(p["amount_minor"]) for p in payments]
    else:
        page.get_by_text("No payments yet").wait_for()
    shot(page, screenshot_dir(app_stack), "billing-line-drill")


def _prorated(fee: str, part: int, whole: int) -> int:
    return int((Decimal(fee) * part * 100 / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _expected_fees(started_at: datetime, at: datetime, current_fee: str, next_fee: str) -> tuple[int, int]:
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1))
    whole = int((end - start).total_seconds())
    current = int((at - max(start, started_at)).total_seconds())
    rest = int((end - at).total_seconds())
    return _prorated(current_fee, current, whole), _prorated(next_fee, rest, whole)


def _cents(shown: str) -> int:
    return int(Decimal(shown.replace("$", "").replace(",", "")) * 100)


def test_change_plan_shows_the_prorated_fees_then_changes(page, app_url, api, plan, app_stack):
    tenant = register_tenant(api, plan)
    bigger = "web-big-" + uuid.uuid4().hex[:6]
    created = api.post("/v1/plans", headers=operator_headers_sync(app_url, app_stack, "finance"), json={
        "slug": bigger, "name": f"Bigger {bigger[-4:]}", "currency": "USD", "flat_fee": "199.00",
        "charges": [{"model": "unit", "meter_slug": "api-calls", "unit_price": "0.001"}]})
    assert created.status_code == 201, created.text
    subscription = api.get("/v1/subscriptions/current", headers=tenant.auth).json()
    started_at = datetime.fromisoformat(subscription["started_at"].replace("Z", "+00:00"))

    sign_in(page, app_url, tenant)
    page.get_by_role("link", name="Billing").click()
    before = datetime.now(timezone.utc)
    page.get_by_label("New plan").select_option(bigger)
    after = datetime.now(timezone.utc)
    dialog = page.get_by_role("alertdialog", name="Confirm plan change")
    current, following = _cents(dialog.get_by_test_id("prorated-current").text_content()), \
        _cents(dialog.get_by_test_id("prorated-next").text_content())
    # As the invoice prorates them, at the instant of choosing (between `before` and `after`).
    low, high = _expected_fees(started_at, before, "49.00", "199.00"), _expected_fees(started_at, after, "49.00", "199.00")
    assert low[0] <= current <= high[0] and high[1] <= following <= low[1]
    assert _cents(dialog.get_by_test_id("prorated-total").text_content()) == current + following
    shot(page, screenshot_dir(app_stack), "billing-change-plan")
    dialog.get_by_role("button", name=f"Change to Bigger {bigger[-4:]}").click()
    dialog.wait_for(state="detached")
    page.get_by_text(f"Bigger {bigger[-4:]}").first.wait_for()
    assert api.get("/v1/subscriptions/current", headers=tenant.auth).json()["plan"]["slug"] == bigger
