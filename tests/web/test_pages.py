"""Each page of the web app in Debian's chromium against the embedded stack: signed in as
the role that uses it, the numbers on screen equal the API's answer to the same query."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support.web import screenshot_dir, wait_for_totals

from .pages import en_us_quantity, shot, shown_decimal, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _month_params() -> dict:
    now = datetime.now(timezone.utc)
    return {"from": now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).isoformat(),
            "to": (now.replace(second=0, microsecond=0) + timedelta(minutes=2)).isoformat(), "window": "month"}


def test_browser_pairing(browser):
    """Playwright's pinned driver and Debian's chromium understand each other: a version, a click."""
    assert int(browser.version.split(".")[0]) >= 120, browser.version
    page = browser.new_page()
    page.set_content("<button onclick=\"this.textContent='clicked'\">click</button>")
    page.get_by_role("button").click()
    assert page.get_by_role("button").text_content() == "clicked"
    page.close()


def test_dashboard_shows_this_periods_usage_against_the_plan_limits(page, app_url, api, tenant_with_usage, app_stack):
    answer = wait_for_totals(api, tenant_with_usage, _month_params())
    sign_in(page, app_url, tenant_with_usage)
    totals = {t["meter"]: t["quantity"] for t in answer["totals"]}
    for meter, quantity in totals.items():
        shown = page.get_by_test_id(f"usage-{meter}")
        shown.wait_for()
        assert shown.text_content() == en_us_quantity(quantity)
    # The plan's limits, as the API has them, with the bar at the right level (about 412 of 500: amber).
    calls = page.locator(".limit-bar", has_text="api-calls")
    assert "of 500 (soft)" in calls.text_content()
    assert calls.get_by_role("meter").get_attribute("aria-valuenow") == str(round(Decimal(totals["api-calls"]) / 5))
    assert "bar-near" in calls.get_by_role("meter").get_attribute("class")
    assert "of 1,000,000 (hard)" in page.locator(".limit-bar", has_text="llm-tokens").text_content()
    page.get_by_role("status").filter(has_text="counted up to").wait_for()
    page.get_by_text("No alerts").wait_for()
    shot(page, screenshot_dir(app_stack), "dashboard")


def test_usage_explorer_table_chart_and_csv_equal_the_api(page, app_url, api, tenant_with_usage, app_stack):
    wait_for_totals(api, tenant_with_usage, _month_params())
    sign_in(page, app_url, tenant_with_usage)
    with page.expect_response(lambda r: "/v1/usage/query" in r.url and "group_by=region" in r.url) as answered:
        page.goto(app_url + "/usage?range=24h&window=hour&tz=Asia%2FKolkata&group_by=region&subject=1")
    request_url = answered.value.url
    page.get_by_test_id("usage-table").wait_for()
    # The same query, asked of the API directly.
    params = parse_qsl(urlsplit(request_url).query)
    answer = api.get("/v1/usage/query", params=params, headers=tenant_with_usage.auth).json()
    assert answer["time_zone"] == "Asia/Kolkata" and answer["group_by"] == ["region"] and answer["by_subject"]
    for total in answer["totals"]:
        assert page.get_by_test_id(f"total-quantity-{total['meter']}").text_content() == en_us_quantity(total["quantity"])
    shown_rows = page.get_by_test_id("row-quantity").all_text_contents()
    assert [shown_decimal(q) for q in shown_rows] == [Decimal(r["quantity"]) for r in answer["rows"]]
    assert sum(shown_decimal(q) for q in shown_rows) == sum(Decimal(t["quantity"]) for t in answer["totals"])
    assert page.locator(".chart svg .recharts-bar-rectangle").count() > 0  # the chart drew the same rows
    # The URL holds the query: a reload shows the same controls.
    page.reload()
    assert page.get_by_label("Window", exact=True).input_value() == "hour"
    assert page.get_by_label("Time zone", exact=True).input_value() == "Asia/Kolkata"
    assert page.get_by_role("checkbox", name="region").is_checked()
    assert page.get_by_role("checkbox", name="By subject").is_checked()
    # CSV export: the API's own CSV of the same query.
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Export CSV").click()
    csv_text = open(downloaded.value.path()).read()
    expected = api.get("/v1/usage/export", params=[p for p in params if p[0] not in ("limit", "cursor")],
                       headers=tenant_with_usage.auth).text
    assert csv_text == expected and csv_text.count("\n") == len(answer["rows"]) + 1
    shot(page, screenshot_dir(app_stack), "usage-explorer")


def test_billing_shows_the_subscription_and_its_plan(page, app_url, api, tenant_with_usage, app_stack):
    sign_in(page, app_url, tenant_with_usage)
    page.get_by_role("link", name="Billing").click()
    subscription = api.get("/v1/subscriptions/current", headers=tenant_with_usage.auth).json()
    invoices = api.get("/v1/invoices", headers=tenant_with_usage.auth).json()
    card = page.locator("section", has=page.get_by_role("heading", name="Subscription"))
    card.get_by_text(subscription["plan"]["name"]).wait_for()
    assert "$49.00 per month" in card.text_content() and subscription["plan"]["flat_fee"] == "49.00"
    assert "at $0.002 per unit" in card.text_content()  # unit price kept to its exact decimals
    assert "1,000 included" in card.text_content()
    if not invoices:
        page.get_by_text("No invoices yet").wait_for()
    corrections = api.get("/v1/stream/corrections", headers=tenant_with_usage.auth).json()
    if not corrections:
        page.get_by_text("No late usage").wait_for()
    shot(page, screenshot_dir(app_stack), "billing")


def test_developers_sees_each_events_fate_and_finds_one_by_id(page, app_url, api, ingest, tenant_with_usage, app_stack):
    wait_for_totals(api, tenant_with_usage, _month_params())
    # An event no meter counts: its fate is "unmetered".
    unmetered = ingest.post("/v1/events", headers={"Authorization": f"Bearer {tenant_with_usage.api_key}"}, json={
        "specversion": "1.0", "id": "web-unmetered-1", "source": "web-test", "type": "nobody.counts.this", "subject": "customer-9",
        "time": datetime.now(timezone.utc).isoformat(), "data": {}})
    assert unmetered.status_code == 202, unmetered.text
    sign_in(page, app_url, tenant_with_usage)
    page.get_by_role("link", name="Developers").click()
    page.get_by_test_id("events").wait_for()
    recent = api.get("/v1/events/recent", params={"limit": 50}, headers=tenant_with_usage.auth).json()
    shown_ids = page.get_by_test_id("events").locator("tbody tr td:first-child").all_text_contents()
    assert shown_ids[:10] == [e["id"] for e in recent["events"]][:10]
    assert page.get_by_test_id("ingest-endpoint").text_content() == f"http://127.0.0.1:{app_stack.ingest.port}/v1/events"
    # Search by id.
    page.get_by_label("Event id").fill("web-unmetered-1")
    page.get_by_role("button", name="Find").click()
    found = page.get_by_test_id("events").first
    found.get_by_text("unmetered (no meter counts this type)").wait_for(timeout=30_000)
    page.get_by_label("Event id").fill("never-sent")
    page.get_by_role("button", name="Find").click()
    page.get_by_text("No event never-sent").wait_for()
    page.get_by_role("heading", name="Dead letters").wait_for()
    shot(page, screenshot_dir(app_stack), "developers")


def test_settings_creates_a_key_shown_once_and_revokes_it(page, app_url, api, ingest, tenant_with_usage, app_stack):
    sign_in(page, app_url, tenant_with_usage)
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("New key's name").fill("from the browser")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("created-key").text_content()
    keys = api.get("/v1/api-keys", headers=tenant_with_usage.auth).json()
    created = next(k for k in keys if k["name"] == "from the browser")
    assert key.startswith(created["prefix"]) and created["revoked_at"] is None
    shot(page, screenshot_dir(app_stack), "settings")
    # Shown once: after dismissing it, the key itself is nowhere on the page.
    page.get_by_role("button", name="I have stored it").click()
    assert key not in page.content()
    page.get_by_role("button", name="Revoke from the browser").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Revoke").click()
    page.get_by_test_id("api-keys").get_by_text("revoked").wait_for()
    assert next(k for k in api.get("/v1/api-keys", headers=tenant_with_usage.auth).json()
                if k["id"] == created["id"])["revoked_at"] is not None
    refused = ingest.post("/v1/events", headers={"Authorization": f"Bearer {key}"}, json=[])
    assert refused.status_code == 401
    # Alert targets.
    page.get_by_label("Email", exact=True).fill("alerts@example.com")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Saved").wait_for()
    assert api.get("/v1/notifications/target", headers=tenant_with_usage.auth).json()["email"] == "alerts@example.com"


def test_roles_are_offered_only_what_they_may_do(page, app_url, tenant_with_usage):
    sign_in(page, app_url, tenant_with_usage)
    links = page.get_by_role("navigation").get_by_role("link").all_text_contents()
    assert links == ["Dashboard", "Usage", "Billing", "Developers", "Settings"]  # an owner: everything but the console
    page.goto(app_url + "/operator")
    page.get_by_role("heading", name="Dashboard").wait_for()  # sent back, not shown the console


def test_phone_width(browser, app_url, tenant_with_usage, app_stack):
    context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, app_url, tenant_with_usage)
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 391).map(e => e.tagName + '.' + e.className).slice(0, 5)""")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide  # nothing wider than the phone
        page.get_by_role("button", name="Menu").click()
        page.get_by_role("navigation").get_by_role("link", name="Usage").click()
        page.get_by_test_id("usage-table").or_(page.get_by_text("No usage in this range")).wait_for()
        shot(page, screenshot_dir(app_stack), "usage-explorer-phone")
    finally:
        context.close()
