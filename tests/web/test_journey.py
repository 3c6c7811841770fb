"""A new customer's first minutes, in the browser: register, make a meter and an API key,
push events with that key to the real ingest, and watch the usage chart and numbers update,
and the running invoice on the Dashboard with them."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from tests.support.operators import operator_headers_sync
from tests.support.web import screenshot_dir

from .pages import shot
from .test_billing_invoice import _money

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _events(count: int) -> list[dict]:
    now = datetime.now(timezone.utc).isoformat()
    return [{"specversion": "1.0", "id": uuid.uuid4().hex, "source": "journey", "type": "search.query",
             "subject": "shopper-1", "time": now, "data": {"hits": 3}} for _ in range(count)]


def _total_is(page, meter: str, shown: str) -> None:
    page.get_by_test_id(f"total-quantity-{meter}").filter(has_text=shown).wait_for(timeout=60_000)


def _subscribe_to_a_searches_plan(api, app_stack, auth: dict) -> None:
    """No plan can be chosen in the app before a first subscription: finance makes a plan that
    charges the journey's meter, and the tenant subscribes to it through the API."""
    slug = "journey-" + uuid.uuid4().hex[:8]
    created = api.post("/v1/plans", headers=operator_headers_sync(str(api.base_url), app_stack, "finance"), json={
        "slug": slug, "name": f"Journey {slug[-4:]}", "currency": "USD", "flat_fee": "49.00",
        "charges": [{"model": "unit", "meter_slug": "searches", "unit_price": "0.05"}]})
    assert created.status_code == 201, created.text
    subscribed = api.post("/v1/subscriptions", headers=auth, json={"plan_slug": slug})
    assert subscribed.status_code < 300, subscribed.text


def _dashboard_preview(page, app_url) -> dict:
    """The Dashboard opened afresh, and the running invoice it received (its total on screen)."""
    with page.expect_response(lambda r: r.url.endswith("/v1/invoices/preview") and r.ok) as answered:
        page.goto(app_url + "/")
    preview = answered.value.json()
    page.get_by_test_id("preview-total").filter(has_text=_money(preview["total_minor"])).wait_for()
    return preview


def _searches(preview: dict) -> str | None:
    return next((line["quantity"] for line in preview["lines"] if line.get("meter_slug") == "searches"
                 and line["kind"] == "usage"), None)


def _preview_once_counted(api, auth: dict, searches: int, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while (preview := api.get("/v1/invoices/preview", headers=auth).json()) and \
            (_searches(preview) is None or Decimal(_searches(preview)) != searches):
        assert time.monotonic() < deadline, f"the running invoice did not count {searches} searches: {preview}"
        time.sleep(0.5)
    return preview


def test_register_create_key_push_and_see_usage(page, app_url, ingest, api, app_stack):
    slug = "j" + uuid.uuid4().hex[:10]
    page.goto(app_url + "/")
    page.get_by_role("link", name="Register your company").click()
    page.get_by_label("Company name").fill(f"Journey {slug}")
    page.get_by_label("Short name (in addresses)").fill(slug)
    page.get_by_label("Your email").fill(f"founder@{slug}.example")
    page.get_by_label("Password (long and hard to guess)").fill(secrets.token_urlsafe(18))
    page.get_by_role("button", name="Register").click()
    first_key = page.get_by_test_id("new-api-key").text_content()
    assert first_key  # shown once, at registration
    shot(page, screenshot_dir(app_stack), "register-done")
    page.get_by_role("button", name="Go to the dashboard").click()
    page.get_by_text("No meters yet").wait_for()

    page.get_by_role("link", name="Settings").click()
    new_meter = page.get_by_role("form", name="New meter")
    new_meter.get_by_label("Meter").fill("searches")
    new_meter.get_by_label("Event type").fill("search.query")
    new_meter.get_by_role("button", name="Create meter").click()
    page.get_by_test_id("meters").get_by_text("search.query").wait_for()
    page.get_by_label("New key's name").fill("journey")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("created-key").text_content()
    assert key and key != first_key

    # A plan that charges for searches, then the running invoice before any: the flat fee only.
    auth = {"Authorization": "Bearer " + page.evaluate("JSON.parse(sessionStorage.getItem('meterline.session')).token")}
    _subscribe_to_a_searches_plan(api, app_stack, auth)
    before = _dashboard_preview(page, app_url)
    assert before["total_minor"] == api.get("/v1/invoices/preview", headers=auth).json()["total_minor"]
    assert _searches(before) in (None, "0")

    accepted = ingest.post("/v1/events", json=_events(25), headers={"Authorization": f"Bearer {key}"})
    assert accepted.status_code == 202, accepted.text
    page.get_by_role("link", name="Usage").click()
    page.get_by_label("Range", exact=True).select_option("24h")
    page.get_by_label("Window", exact=True).select_option("minute")
    _total_is(page, "searches", "25")
    # The chart draws a moment after the table (recharts measures its box first).
    page.locator(".chart svg .recharts-bar-rectangle").first.wait_for()

    # More events: the open page updates by itself, chart and table alike.
    accepted = ingest.post("/v1/events", json=_events(17), headers={"Authorization": f"Bearer {key}"})
    assert accepted.status_code == 202, accepted.text
    _total_is(page, "searches", "42")
    shown_rows = page.get_by_test_id("row-quantity").all_text_contents()
    assert sum(int(q.replace(",", "")) for q in shown_rows) == 42
    shot(page, screenshot_dir(app_stack), "journey-usage")

    # The running invoice on the Dashboard has the 42 searches in it, as the API rates them.
    after = _preview_once_counted(api, auth, 42)
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_test_id("preview-total").filter(has_text=_money(after["total_minor"])).wait_for(timeout=45_000)
    assert after["total_minor"] != before["total_minor"]
    assert after["total_minor"] - before["total_minor"] == 42 * 5  # 42 searches at $0.05
    assert after["final_up_to"] is not None and "Final up to" in page.get_by_test_id("final-up-to").text_content()
    assert api.get("/v1/invoices/preview", headers=auth).json()["total_minor"] == after["total_minor"]
    page.get_by_text("Lines", exact=True).click()
    assert page.get_by_test_id("preview-line-amount").all_text_contents() == [_money(line["amount_minor"]) for line in after["lines"]]
    assert "42" in page.get_by_test_id("preview-line-quantity").all_text_contents()
    shot(page, screenshot_dir(app_stack), "journey-invoice-preview")
    # Sign out, and the app asks to sign in again.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to Meterline").wait_for()
    page.goto(app_url + "/usage")
    page.get_by_role("heading", name="Sign in to Meterline").wait_for()
