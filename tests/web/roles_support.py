"""Users of a given role for the browser tests, joined the way people join: an invitation
by the owner, its token from the email in the outbox, accepted with a password."""

from __future__ import annotations

import secrets
import uuid

import httpx

from tests.support.web import AppTenant

__all__ = ["invitation_token", "joined_user"]


def invitation_token(api: httpx.Client, owner: AppTenant, email: str, role: str) -> tuple[dict, str]:
    """(the invitation, the token its email carries)."""
    invited = api.post("/v1/users/invitations", json={"email": email, "role": role}, headers=owner.auth)
    assert invited.status_code == 201, invited.text
    outbox = api.get("/v1/notifications/outbox", params={"channel": "email"}, headers=owner.auth).json()
    token = next(m for m in outbox if m["body"].get("id") == invited.json()["id"])["body"]["token"]
    return invited.json(), token


def joined_user(api: httpx.Client, owner: AppTenant, role: str) -> AppTenant:
    """A new user of the owner's tenant with `role`, signed in once through the API."""
    email = f"{role}-{uuid.uuid4().hex[:6]}@{owner.slug}.example"
    _, token = invitation_token(api, owner, email, role)
    password = secrets.token_urlsafe(18)
    joined = api.post("/v1/invitations/accept", json={"token": token, "password": password})
    assert joined.status_code == 201, joined.text
    return AppTenant(owner.slug, email, password, joined.json()["access_token"], owner.api_key, owner.tenant_id)
