"""Sessions against the real PostgreSQL: refresh tokens rotate on use, reusing a used one ends
the whole session (family), logout ends one session, a password change ends them all, and an
ended session's access tokens stop at their next request, not at their expiry."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from sqlalchemy import text

from tests.support.admin_api import PASSWORD, assert_error, bearer, register

pytestmark = pytest.mark.integration


async def _login(client, email: str, password: str = PASSWORD) -> dict:
    response = await client.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def _refresh(client, token: str):
    return await client.post("/v1/auth/refresh", json={"refresh_token": token})


async def _works(client, tokens: dict) -> int:
    return (await client.get("/v1/meters", headers=bearer(tokens["access_token"]))).status_code


async def test_lifetimes_are_30_minutes_and_7_days(admin_api, stack):
    owner = await register(admin_api)
    tokens = owner["access_token"]
    claims = jwt.decode(tokens["access_token"], stack.jwt.secret.get_secret_value(), algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 30 * 60 and claims["sid"]
    refresh_left = datetime.fromisoformat(tokens["refresh_expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(days=7) - timedelta(minutes=1) < refresh_left <= timedelta(days=7)


async def test_refresh_rotates_and_reuse_revokes_the_family(admin_api):
    owner = await register(admin_api)
    first = await _login(admin_api, owner["owner"]["email"])
    other_session = await _login(admin_api, owner["owner"]["email"])

    second = await _refresh(admin_api, first["refresh_token"])
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"] and await _works(admin_api, second) == 200
    third = (await _refresh(admin_api, second["refresh_token"])).json()

    # The first token again: used, so someone else holds a copy. The whole family ends...
    assert_error(await _refresh(admin_api, first["refresh_token"]), 401, "refresh_token_reused")
    assert_error(await _refresh(admin_api, third["refresh_token"]), 401, "refresh_token_revoked")
    # ...its access tokens too, at their next request...
    for tokens in (first, second, third):
        assert_error(await admin_api.get("/v1/meters", headers=bearer(tokens["access_token"])), 401, "invalid_token")
    # ...and nothing else: the other login's session goes on.
    assert await _works(admin_api, other_session) == 200
    assert (await _refresh(admin_api, other_session["refresh_token"])).status_code == 200


async def test_two_refreshes_racing_with_one_token_end_the_session(admin_api):
    owner = await register(admin_api)
    tokens = await _login(admin_api, owner["owner"]["email"])
    answers = await asyncio.gather(*(_refresh(admin_api, tokens["refresh_token"]) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 401]
    winner = next(a for a in answers if a.status_code == 200).json()
    # The loser presented a used token: the family, the winner's new token with it, is over.
    assert_error(await _refresh(admin_api, winner["refresh_token"]), 401, "refresh_token_revoked")


async def test_unknown_and_expired_refresh_tokens_are_401(admin_api, pg):
    owner = await register(admin_api)
    assert_error(await _refresh(admin_api, "mlr_not-a-token"), 401, "refresh_token_unknown")
    tokens = await _login(admin_api, owner["owner"]["email"])
    async with pg.begin() as conn:
        await conn.execute(text("UPDATE refresh_token SET expires_at = now() - interval '1 second' WHERE session_id = "
                                "(SELECT id FROM user_session WHERE user_id = :u ORDER BY created_at DESC LIMIT 1)"),
                           {"u": owner["owner"]["id"]})
    assert_error(await _refresh(admin_api, tokens["refresh_token"]), 401, "refresh_token_expired")
    assert_error(await admin_api.post("/v1/auth/refresh", json={}), 422)


async def test_logout_ends_this_session_only(admin_api):
    owner = await register(admin_api)
    leaving = await _login(admin_api, owner["owner"]["email"])
    staying = await _login(admin_api, owner["owner"]["email"])
    assert (await admin_api.post("/v1/auth/logout", headers=bearer(leaving["access_token"]))).status_code == 204
    assert_error(await admin_api.get("/v1/meters", headers=bearer(leaving["access_token"])), 401, "invalid_token")
    assert_error(await _refresh(admin_api, leaving["refresh_token"]), 401, "refresh_token_revoked")
    assert await _works(admin_api, staying) == 200


async def test_changing_the_password_ends_every_session(admin_api):
    owner = await register(admin_api)
    email = owner["owner"]["email"]
    one, two = await _login(admin_api, email), await _login(admin_api, email)
    new_password = "a much longer passphrase, freshly minted"

    wrong = await admin_api.post("/v1/auth/password", headers=bearer(one["access_token"]),
                                 json={"current_password": "not it", "new_password": new_password})
    assert assert_error(wrong, 422, "wrong_password")["details"][0]["field"] == "current_password"
    weak = await admin_api.post("/v1/auth/password", headers=bearer(one["access_token"]),
                                json={"current_password": PASSWORD, "new_password": "password1"})
    assert_error(weak, 422, "weak_password")
    assert await _works(admin_api, one) == 200 and await _works(admin_api, two) == 200  # refusals change nothing

    changed = await admin_api.post("/v1/auth/password", headers=bearer(one["access_token"]),
                                   json={"current_password": PASSWORD, "new_password": new_password})
    assert changed.status_code == 204, changed.text
    for tokens in (one, two, owner["access_token"]):
        assert_error(await admin_api.get("/v1/meters", headers=bearer(tokens["access_token"])), 401)
        assert_error(await _refresh(admin_api, tokens["refresh_token"]), 401, "refresh_token_revoked")
    assert_error(await admin_api.post("/v1/auth/login", json={"email": email, "password": PASSWORD}), 401)
    assert await _works(admin_api, await _login(admin_api, email, new_password)) == 200


async def test_a_refreshed_token_carries_the_stored_role(admin_api, stack, pg):
    owner = await register(admin_api)
    invited = await admin_api.post("/v1/users/invitations", headers=bearer(owner),
                                   json={"email": f"later-viewer-{uuid.uuid4().hex[:8]}@example.com", "role": "admin"})
    assert invited.status_code == 201, invited.text
    async with pg.begin() as conn:
        token = (await conn.execute(text("SELECT body->>'token' FROM billing_outbox WHERE dedup_key = :k"),
                                    {"k": f"invitation:{invited.json()['id']}"})).scalar_one()
    joined = await admin_api.post("/v1/invitations/accept", json={"token": token, "password": "pale moonlit orchard 42"})
    assert joined.status_code == 201, joined.text
    changed = await admin_api.put(f"/v1/users/{(await _me(admin_api, joined.json()))['id']}/role",
                                  headers=bearer(owner), json={"role": "viewer"})
    assert changed.status_code == 200, changed.text
    refreshed = (await _refresh(admin_api, joined.json()["refresh_token"])).json()
    claims = jwt.decode(refreshed["access_token"], stack.jwt.secret.get_secret_value(), algorithms=["HS256"])
    assert claims["role"] == "viewer"


async def _me(client, tokens: dict) -> dict:
    response = await client.get("/v1/users/me", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    return response.json()


async def test_wrong_current_passwords_count_toward_the_login_lockout(admin_api, stack):
    owner = await register(admin_api)
    headers = bearer(owner)
    body = {"current_password": "not the password", "new_password": "a much longer passphrase, freshly minted"}
    answers = [await admin_api.post("/v1/auth/password", headers=headers, json=body)
               for _ in range(stack.api.login_failures_per_account + 1)]
    assert [a.status_code for a in answers] == [422] * stack.api.login_failures_per_account + [429]
    assert_error(answers[-1], 429, "login_locked")
    # Locked: the right password does not get through either, nor does a login.
    right = await admin_api.post("/v1/auth/password", headers=headers, json={**body, "current_password": PASSWORD})
    assert_error(right, 429, "login_locked")
    assert_error(await admin_api.post("/v1/auth/login", json={"email": owner["owner"]["email"], "password": PASSWORD}),
                 429, "login_locked")
