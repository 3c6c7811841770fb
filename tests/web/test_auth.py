"""Signing in and out in the browser: wrong passwords explained, sessions ended, pages guarded."""

from __future__ import annotations

import pytest

from tests.support.web import screenshot_dir

from .pages import shot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_sign_in_refuses_a_wrong_password_then_signs_in_and_out(page, app_url, tenant_with_usage, app_stack):
    page.goto(app_url + "/billing")  # a guarded page: sent to sign in first
    page.get_by_role("heading", name="Sign in to Meterline").wait_for()
    page.get_by_label("Email").fill(tenant_with_usage.email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="Wrong email or password.").wait_for()
    shot(page, screenshot_dir(app_stack), "sign-in")
    page.get_by_label("Password").fill(tenant_with_usage.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Billing").wait_for()  # back where it was going
    assert page.get_by_test_id("who").text_content() == f"{tenant_with_usage.email} · owner"
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to Meterline").wait_for()
    assert page.evaluate("sessionStorage.getItem('meterline.session')") is None


def test_an_expired_session_is_explained(page, app_url, tenant_with_usage):
    sign_in(page, app_url, tenant_with_usage)
    # The API stops accepting the token and refuses the refresh token (as at expiry, the refresh
    # token's too): the app says so.
    page.evaluate("""() => {
        const session = JSON.parse(sessionStorage.getItem('meterline.session'));
        session.token = session.token.slice(0, -4) + 'AAAA';
        session.refreshToken = 'not-a-refresh-token';
        sessionStorage.setItem('meterline.session', JSON.stringify(session));
    }""")
    page.goto(app_url + "/usage")
    page.get_by_text("Your session ended. Sign in again to continue.").wait_for()


def test_registration_refusals_name_the_field(page, app_url):
    page.goto(app_url + "/register")
    page.get_by_label("Company name").fill("Weak Password Inc")
    page.get_by_label("Your email").fill("weak@example.com")
    page.get_by_label("Password (long and hard to guess)").fill("password123")
    page.get_by_role("button", name="Register").click()
    page.locator(".field-error").first.wait_for()
    assert page.get_by_role("alert").count() >= 1
