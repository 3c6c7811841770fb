"""Settings for people in the browser: users and their roles, invitations (the email's token
in the outbox, the accept page), the role table, the audit log, the tenant's export and
deletion, and a suspended tenant's standing; each screen equal to the API's answer."""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime

import pytest

from tests.support.operators import operator_headers_sync
from tests.support.web import register_tenant, screenshot_dir

from .pages import shot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _open_settings(page, app_url, tenant) -> None:
    sign_in(page, app_url, tenant)
    page.get_by_role("link", name="Settings").click()
    page.get_by_test_id("users").wait_for()


def _invite(page, email: str, role: str) -> str:
    """Invites through the form; the accept link the page shows for it."""
    form = page.get_by_role("form", name="Invite someone")
    form.get_by_label("Email to invite").fill(email)
    form.get_by_label("Role").select_option(role)
    form.get_by_role("button", name="Send invitation").click()
    row = page.get_by_test_id(f"invitation-{email}")
    return row.get_by_test_id("invitation-link").text_content()


def _en_us_instant(iso: str, seconds: bool = False) -> str:
    """How the app writes an instant in en-US, UTC ("Dec 6, 2026, 10:41" / "…, 10:41:29")."""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return f"{at:%b} {at.day}, {at.year}, {at:%H:%M}" + (f":{at:%S}" if seconds else "")


def _wait_for_role(api, token: str, role: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while api.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"}).json().get("role") != role:
        assert time.monotonic() < deadline, f"the role did not become {role}"
        time.sleep(0.2)


def test_users_invitations_role_table_and_audit_equal_the_api(page, app_url, api, plan, app_stack):
    owner = register_tenant(api, plan)
    _open_settings(page, app_url, owner)
    email = f"analyst@{owner.slug}.example"
    link = _invite(page, email, "member")
    # The link carries the token of the invitation email waiting in the outbox.
    invitations = api.get("/v1/users/invitations", headers=owner.auth).json()
    invitation = next(i for i in invitations if i["email"] == email)
    assert invitation["role"] == "member"
    outbox = api.get("/v1/notifications/outbox", params={"channel": "email"}, headers=owner.auth).json()
    sent = next(m for m in outbox if m["body"].get("id") == invitation["id"])
    assert sent["recipient"] == email
    assert link == f"{app_url}/accept-invitation?token={sent['body']['token']}"
    # The users table is the API's list.
    users = api.get("/v1/users", headers=owner.auth).json()["users"]
    shown = page.get_by_test_id("users").locator("tbody tr td:first-child").all_text_contents()
    assert [s.removesuffix(" (you)") for s in shown] == [u["email"] for u in users]
    # The role table: each role's column, as docs/roles.md (the vitest compares it row by row).
    page.get_by_text("What each role may do").click()
    table = page.get_by_test_id("role-table")
    assert table.locator("thead th").all_text_contents() == ["Permission", "owner", "admin", "manager", "member", "viewer"]
    delete_row = table.locator("tr", has_text="delete the tenant")
    assert [c.strip() for c in delete_row.locator("td").all_text_contents()] == ["✓", "no", "no", "no", "no"]
    # The audit log lists the API's entries, newest first.
    audit = api.get("/v1/audit", params={"limit": 50}, headers=owner.auth).json()["entries"]
    page.get_by_test_id("audit").get_by_text("user.invited").wait_for()
    assert page.get_by_test_id("audit-action").all_text_contents() == [e["action"] for e in audit]
    assert "user.invited" in [e["action"] for e in audit]
    shot(page, screenshot_dir(app_stack), "settings-people")
    # At phone width the page does not scroll sideways: wide tables scroll inside their card.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, screenshot_dir(app_stack), "settings-people-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    # Withdrawn: gone from the page and the API.
    page.get_by_role("button", name=f"Withdraw the invitation of {email}").click()
    page.get_by_text("No pending invitations").wait_for()
    assert api.get("/v1/users/invitations", headers=owner.auth).json() == []


def test_invited_viewer_accepts_in_the_browser_and_sees_only_what_a_viewer_may(page, browser, app_url, api, plan, app_stack):
    owner = register_tenant(api, plan)
    _open_settings(page, app_url, owner)
    email = f"viewer@{owner.slug}.example"
    link = _invite(page, email, "viewer")

    # The viewer opens the link in a browser of their own and chooses a password.
    context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1280, "height": 900})
    viewer = context.new_page()
    viewer.set_default_timeout(15_000)
    viewer.goto(link)
    viewer.get_by_role("heading", name="Accept your invitation").wait_for()
    shot(viewer, screenshot_dir(app_stack), "accept-invitation")
    viewer.get_by_label("Choose a password (long and hard to guess)").fill(secrets.token_urlsafe(18))
    viewer.get_by_role("button", name="Join").click()
    viewer.get_by_role("heading", name="Dashboard").wait_for()
    assert viewer.get_by_test_id("who").text_content() == f"{email} · viewer"
    # Only what a viewer may: reading. No write action offered.
    links = viewer.get_by_role("navigation", name="Main").get_by_role("link").all_text_contents()
    assert links == ["Dashboard", "Usage", "Billing", "Developers", "Settings"]
    viewer.get_by_test_id("preview-total").wait_for()  # the running invoice is theirs to read
    viewer.get_by_role("link", name="Billing").click()
    viewer.get_by_role("heading", name="Subscription").wait_for()
    viewer.get_by_text("No invoices yet").wait_for()
    viewer.get_by_text("No payments yet").wait_for()
    for write in ("Cancel at period end", "Cancel now"):
        assert viewer.get_by_role("button", name=write).count() == 0
    assert viewer.get_by_label("New plan").count() == 0
    shot(viewer, screenshot_dir(app_stack), "viewer-billing")
    # Settings, read only: the users and the alert thresholds, nothing to create or change.
    viewer.get_by_role("link", name="Settings").click()
    viewer.get_by_test_id("users").wait_for()
    viewer.get_by_test_id("thresholds-read-only").wait_for()
    for write in ("Create key", "Create meter", "Send invitation", "Save thresholds"):
        assert viewer.get_by_role("button", name=write).count() == 0
    assert viewer.get_by_test_id("audit").count() == 0
    viewer.get_by_role("link", name="Developers").click()
    viewer.get_by_role("heading", name="Developers").wait_for()
    assert viewer.get_by_role("button", name="Create key").count() == 0
    viewer.get_by_role("link", name="Usage").click()
    viewer.get_by_role("heading", name="Usage explorer").wait_for()
    viewer.locator(".card").first.wait_for()
    viewer.get_by_role("status").filter(has_text="Loading").wait_for(state="detached")
    assert viewer.get_by_role("button", name="Export CSV").count() == 0  # exports need a member
    shot(viewer, screenshot_dir(app_stack), "viewer-usage")
    viewer_token = viewer.evaluate("JSON.parse(sessionStorage.getItem('meterline.session')).token")
    assert api.post("/v1/api-keys", json={"name": "x"}, headers={"Authorization": f"Bearer {viewer_token}"}).status_code == 403

    # The owner sees them joined, promotes them to admin, then hands them the ownership.
    page.reload()
    row = page.get_by_test_id(f"user-{email}")
    row.get_by_label(f"Role of {email}").select_option("admin")
    _wait_for_role(api, viewer_token, "admin")
    page.get_by_role("button", name=f"Make {email} the owner").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Transfer ownership").click()
    page.get_by_role("alertdialog").wait_for(state="detached")
    roles = {u["email"]: u["role"] for u in api.get("/v1/users", headers={"Authorization": f"Bearer {viewer_token}"}).json()["users"]}
    assert roles == {email: "owner", owner.email: "admin"}
    shot(page, screenshot_dir(app_stack), "settings-users-after-transfer")
    context.close()


def test_removed_user_is_refused(page, app_url, api, plan):
    owner = register_tenant(api, plan)
    _open_settings(page, app_url, owner)
    email = f"leaver@{owner.slug}.example"
    link = _invite(page, email, "manager")
    token = link.split("token=", 1)[1]
    joined = api.post("/v1/invitations/accept", json={"token": token, "password": secrets.token_urlsafe(18)})
    assert joined.status_code == 201, joined.text
    page.reload()
    page.get_by_role("button", name=f"Remove {email}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
    page.get_by_test_id(f"user-{email}").wait_for(state="detached")
    leaver = {"Authorization": f"Bearer {joined.json()['access_token']}"}
    assert api.get("/v1/users/me", headers=leaver).status_code == 401


def test_an_used_invitation_link_is_explained(page, app_url, api, plan):
    owner = register_tenant(api, plan)
    invited = api.post("/v1/users/invitations", json={"email": f"twice@{owner.slug}.example", "role": "viewer"},
                       headers=owner.auth)
    assert invited.status_code == 201
    outbox = api.get("/v1/notifications/outbox", params={"channel": "email"}, headers=owner.auth).json()
    token = next(m for m in outbox if m["body"].get("id") == invited.json()["id"])["body"]["token"]
    assert api.post("/v1/invitations/accept", json={"token": token, "password": secrets.token_urlsafe(18)}).status_code == 201
    page.goto(f"{app_url}/accept-invitation?token={token}")
    # Said before any password is asked for (the page looks the token up first).
    page.get_by_role("alert").filter(has_text="This invitation cannot be used").wait_for()
    assert "This invitation was already accepted." in page.get_by_role("alert").text_content()
    assert page.get_by_label("Choose a password (long and hard to guess)").count() == 0


def test_owner_exports_then_asks_for_deletion_and_cancels_it(page, app_url, api, plan, app_stack):
    owner = register_tenant(api, plan)
    _open_settings(page, app_url, owner)
    card = page.locator("section", has=page.get_by_role("heading", name="Export and deletion"))
    assert card.get_by_test_id("export-taken").text_content() == "never"
    with page.expect_download() as downloaded:
        card.get_by_role("button", name="Download an export").click()
    exported = json.loads(open(downloaded.value.path()).read())
    assert downloaded.value.suggested_filename == f"meterline-export-{owner.slug}.json"
    assert {m["slug"] for m in exported["meters"]} == {"api-calls", "llm-tokens"}
    card.get_by_test_id("export-taken").filter(has_text="UTC").wait_for()
    card.get_by_role("button", name="Delete this tenant…").click()
    dialog = page.get_by_role("alertdialog", name="Confirm deletion")
    assert dialog.get_by_role("button", name="Delete the tenant").is_disabled()
    dialog.get_by_label(f"Type {owner.slug} to confirm").fill(owner.slug)
    dialog.get_by_role("button", name="Delete the tenant").click()
    shown = card.get_by_test_id("purge-after")
    shown.wait_for()  # the page has the API's answer: the API has the request
    standing = api.get("/v1/tenant", headers=owner.auth).json()
    assert standing["status"] == "deleting"
    assert _en_us_instant(standing["purge_after"]) in shown.text_content()
    assert f"a grace period of {app_stack.api.tenant_deletion_grace_days} days" in shown.text_content()
    page.get_by_test_id("tenant-standing").filter(has_text="This tenant is being deleted").wait_for()
    shot(page, screenshot_dir(app_stack), "settings-deletion")
    card.get_by_role("button", name="Cancel the deletion").click()
    card.get_by_test_id("tenant-status").filter(has_text="active").wait_for()
    assert api.get("/v1/tenant", headers=owner.auth).json()["status"] == "active"
    assert page.get_by_test_id("tenant-standing").count() == 0


def test_a_suspended_tenant_is_told_why(page, app_url, api, plan, app_stack):
    tenant = register_tenant(api, plan)
    operator = operator_headers_sync(app_url, app_stack, "sre")
    reason = "unpaid invoice, contact billing"
    suspended = api.post(f"/v1/operator/tenants/{tenant.tenant_id}/suspend", json={"reason": reason}, headers=operator)
    assert suspended.status_code == 200, suspended.text
    sign_in(page, app_url, tenant)
    banner = page.get_by_test_id("tenant-standing")
    banner.filter(has_text="This tenant is suspended").wait_for()
    assert reason in banner.text_content()
    shot(page, screenshot_dir(app_stack), "dashboard-suspended")
