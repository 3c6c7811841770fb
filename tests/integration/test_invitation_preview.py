"""Looking an invitation up by its token before joining, against the real PostgreSQL: what it
offers, the 404/410 of a token that cannot be used (revealing nothing else), and the
per-address limit of the anonymous look-up (its own low limit, as tests/integration/test_abuse_limits.py)."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text

from tests.integration.test_abuse_limits import api_client, assert_429, fresh_address, limited
from tests.integration.test_people import NEW_PASSWORD, invite
from tests.support.admin_api import assert_error, bearer, register

pytestmark = pytest.mark.integration

PREVIEW = "/v1/invitations/preview"


async def test_a_pending_invitation_shows_tenant_role_email_and_expiry(admin_api):
    owner = await register(admin_api)
    invitation, token = await invite(admin_api, bearer(owner), "manager")
    shown = await admin_api.post(PREVIEW, json={"token": token})
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"tenant_name": owner["tenant"]["name"], "role": "manager", "email": invitation["email"],
                            "expires_at": invitation["expires_at"]}
    # A look-up spends nothing: the token still joins.
    joined = await admin_api.post("/v1/invitations/accept", json={"token": token, "password": NEW_PASSWORD})
    assert joined.status_code == 201, joined.text


async def _gone(admin_api, token: str, code: str, message: str) -> None:
    error = assert_error(await admin_api.post(PREVIEW, json={"token": token}), 410, code)
    assert error["message"] == message
    assert "Tenant" not in str(error) and "@" not in str(error)  # nothing of the invitation or its tenant


async def test_used_withdrawn_expired_and_unknown_tokens(admin_api, pg):
    owner = await register(admin_api)
    headers = bearer(owner)
    _, used = await invite(admin_api, headers, "viewer")
    assert (await admin_api.post("/v1/invitations/accept", json={"token": used, "password": NEW_PASSWORD})).status_code == 201
    await _gone(admin_api, used, "invitation_accepted", "this invitation was already accepted")

    withdrawn_invitation, withdrawn = await invite(admin_api, headers, "viewer")
    assert (await admin_api.delete(f"/v1/users/invitations/{withdrawn_invitation['id']}", headers=headers)).status_code == 204
    await _gone(admin_api, withdrawn, "invitation_withdrawn", "this invitation was withdrawn")

    expired_invitation, expired = await invite(admin_api, headers, "member")
    async with pg.begin() as conn:
        await conn.execute(text("UPDATE user_invitation SET expires_at = now() - interval '1 second' WHERE id = :id"),
                           {"id": expired_invitation["id"]})
    await _gone(admin_api, expired, "invitation_expired", "this invitation has expired")

    unknown = assert_error(await admin_api.post(PREVIEW, json={"token": "mli_" + secrets.token_urlsafe(32)}),
                           404, "invitation_not_found")
    assert unknown["message"] == "unknown invitation token"
    assert_error(await admin_api.post(PREVIEW, json={"token": ""}), 422)
    assert_error(await admin_api.post(PREVIEW, json={"token": "x" * 257}), 422)


async def test_lookups_are_limited_per_client_address(stack, admin_api):
    owner = await register(admin_api)
    _, token = await invite(admin_api, bearer(owner), "viewer")
    address = fresh_address()
    async with api_client(limited(stack, invitation_previews_per_address_per_minute=3), address) as client:
        for _ in range(2):
            assert (await client.post(PREVIEW, json={"token": "mli_guess" + secrets.token_hex(8)})).status_code == 404
        assert (await client.post(PREVIEW, json={"token": token})).status_code == 200
        assert_429(await client.post(PREVIEW, json={"token": token}), "invitation_preview_limited")
    # Another address is counted apart.
    async with api_client(limited(stack, invitation_previews_per_address_per_minute=3)) as client:
        assert (await client.post(PREVIEW, json={"token": token})).status_code == 200
