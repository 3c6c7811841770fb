"""The accept-invitation page says what joining means before asking for a password (the
tenant, the role, the email), and explains a link that can no longer be used instead."""

from __future__ import annotations

import secrets
from datetime import datetime

import pytest

from tests.support.web import register_tenant, screenshot_dir

from .pages import shot
from .roles_support import invitation_token

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PASSWORD_LABEL = "Choose a password (long and hard to guess)"


def test_the_page_names_tenant_and_role_then_joins(page, app_url, api, plan, app_stack):
    owner = register_tenant(api, plan)
    email = f"analyst@{owner.slug}.example"
    invitation, token = invitation_token(api, owner, email, "member")
    page.goto(f"{app_url}/accept-invitation?token={token}")
    offer = page.get_by_test_id("invitation-offer")
    offer.wait_for()
    tenant_name = api.get("/v1/tenant", headers=owner.auth).json()["name"]
    assert page.get_by_test_id("invitation-join").text_content() == f"Join {tenant_name} as member"
    assert page.get_by_test_id("invitation-email").text_content() == email
    expires = datetime.fromisoformat(invitation["expires_at"].replace("Z", "+00:00"))
    assert f"{expires:%b} {expires.day}, {expires.year}, {expires:%H:%M}" in offer.text_content()
    shot(page, screenshot_dir(app_stack), "accept-invitation-offer")
    page.get_by_label(PASSWORD_LABEL).fill(secrets.token_urlsafe(18))
    page.get_by_role("button", name="Join").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    assert page.get_by_test_id("who").text_content() == f"{email} · member"


def test_a_pasted_token_is_looked_up_too(page, app_url, api, plan):
    owner = register_tenant(api, plan, meters=False)
    _, token = invitation_token(api, owner, f"pasted@{owner.slug}.example", "viewer")
    page.goto(app_url + "/accept-invitation")
    page.get_by_label("Invitation token (from the email)").fill(token)
    page.get_by_role("button", name="Continue").click()
    page.get_by_test_id("invitation-join").filter(has_text="as viewer").wait_for()
    page.get_by_label(PASSWORD_LABEL).wait_for()


@pytest.mark.parametrize("case", ["unknown", "withdrawn"])
def test_a_link_that_cannot_be_used_is_explained_without_a_form(page, app_url, api, plan, app_stack, case):
    if case == "unknown":
        token, reason = "mli_" + secrets.token_urlsafe(32), "This link does not belong to any invitation."
    else:
        owner = register_tenant(api, plan, meters=False)
        invitation, token = invitation_token(api, owner, f"gone@{owner.slug}.example", "member")
        assert api.delete(f"/v1/users/invitations/{invitation['id']}", headers=owner.auth).status_code == 204
        reason = "This invitation was withdrawn."
    page.goto(f"{app_url}/accept-invitation?token={token}")
    unusable = page.get_by_test_id("invitation-unusable")
    unusable.filter(has_text="This invitation cannot be used").wait_for()
    assert reason in unusable.text_content()
    assert page.get_by_label(PASSWORD_LABEL).count() == 0
    assert page.get_by_test_id("invitation-offer").count() == 0
    shot(page, screenshot_dir(app_stack), f"accept-invitation-{case}")

