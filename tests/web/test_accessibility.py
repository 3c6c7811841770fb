"""Basic accessibility on every tenant page: each control has a name a screen reader reads,
and the keyboard reaches the navigation from the top (skip link first)."""

from __future__ import annotations

import pytest

from tests.support.web import register_tenant

from .pages import sign_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

UNNAMED = """() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !(el.tagName === 'BUTTON' && el.textContent.trim()))
    .map(el => el.outerHTML.slice(0, 120))"""


@pytest.mark.parametrize("path", ["/", "/usage", "/billing", "/developers", "/settings"])
def test_every_control_is_named(page, app_url, tenant_with_usage, path):
    sign_in(page, app_url, tenant_with_usage)
    page.goto(app_url + path)
    page.locator(".state-loading").first.wait_for(state="detached")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(UNNAMED) == []


def test_the_accept_invitation_page_names_its_controls(page, app_url):
    page.goto(app_url + "/accept-invitation")  # no token in the link: it is asked for
    page.get_by_label("Invitation token (from the email)").wait_for()
    assert page.evaluate(UNNAMED) == []


def test_the_keyboard_reaches_the_navigation(page, app_url, tenant_with_usage):
    sign_in(page, app_url, tenant_with_usage)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Usage"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Usage explorer").wait_for()


def test_cancel_at_period_end_is_confirmed_then_shown(page, app_url, api, plan):
    tenant = register_tenant(api, plan, meters=False)
    sign_in(page, app_url, tenant)
    page.get_by_role("link", name="Billing").click()
    page.get_by_role("button", name="Cancel at period end").click()
    dialog = page.get_by_role("alertdialog", name="Confirm cancellation")
    dialog.get_by_role("button", name="Keep the subscription").click()
    assert api.get("/v1/subscriptions/current", headers=tenant.auth).json()["cancel_at_period_end"] is False
    page.get_by_role("button", name="Cancel at period end").click()
    dialog.get_by_role("button", name="Yes, cancel").click()
    page.get_by_text("ends at period end").wait_for()
    assert api.get("/v1/subscriptions/current", headers=tenant.auth).json()["cancel_at_period_end"] is True
    assert page.get_by_role("button", name="Cancel now").count() == 0  # nothing more to offer
