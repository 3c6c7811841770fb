"""A new customer's first minutes, in the browser: register, make a meter and an API key,
push events with that key to the real ingest, and watch the usage chart and numbers update."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timezone

import pytest

from tests.support.web import screenshot_dir

from .pages import shot

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _events(count: int) -> list[dict]:
    now = datetime.now(timezone.utc).isoformat()
    return [{"specversion": "1.0", "id": uuid.uuid4().hex, "source": "journey", "type": "search.query",
             "subject": "shopper-1", "time": now, "data": {"hits": 3}} for _ in range(count)]


def _total_is(page, meter: str, shown: str) -> None:
    page.get_by_test_id(f"total-quantity-{meter}").filter(has_text=shown).wait_for(timeout=60_000)


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
    # Sign out, and the app asks to sign in again.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to Meterline").wait_for()
    page.goto(app_url + "/usage")
    page.get_by_role("heading", name="Sign in to Meterline").wait_for()
