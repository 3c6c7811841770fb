"""A tenant's people against the real PostgreSQL: invitations by email (through the outbox),
roles and their rules, exactly one owner (also in the database), revocation at the next
request, API keys per user, and the audit log written with each change."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.support.admin_api import assert_error, audit_actions, bearer, outbox, register
from tests.support.operators import operator_headers
from tests.support.tenants import signed_in_user
from warehouse.postgres.database import ConstraintViolation, Database

pytestmark = pytest.mark.integration

NEW_PASSWORD = "pale moonlit orchard 42"


async def invite(client, headers, role: str, email: str | None = None) -> tuple[dict, str]:
    """Invites `email` with `role`; returns the invitation and the token its email carries."""
    email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post("/v1/users/invitations", headers=headers, json={"email": email, "role": role})
    assert response.status_code == 201, response.text
    invitation = response.json()
    [message] = [m for m in await outbox(client, headers) if m["body"].get("id") == invitation["id"]]
    assert message["recipient"] == email and message["sent_at"] is None  # no SMTP here: it waits in the outbox
    return invitation, message["body"]["token"]


async def join(client, headers, role: str) -> tuple[dict, dict]:
    """A new user with `role`, by invitation; returns their tokens and their user."""
    _, token = await invite(client, headers, role)
    accepted = await client.post("/v1/invitations/accept", json={"token": token, "password": NEW_PASSWORD})
    assert accepted.status_code == 201, accepted.text
    tokens = accepted.json()
    me = await client.get("/v1/users/me", headers=bearer(tokens["access_token"]))
    return tokens, me.json()


async def test_invite_accept_once_and_list(admin_api, pg):
    owner = await register(admin_api)
    headers = bearer(owner)
    email = f"new.manager-{uuid.uuid4().hex[:8]}@example.com"
    invitation, token = await invite(admin_api, headers, "manager", email)
    assert [i["id"] for i in (await admin_api.get("/v1/users/invitations", headers=headers)).json()] == [invitation["id"]]

    weak = await admin_api.post("/v1/invitations/accept", json={"token": token, "password": "password"})
    assert_error(weak, 422, "weak_password")
    accepted = await admin_api.post("/v1/invitations/accept", json={"token": token, "password": NEW_PASSWORD})
    assert accepted.status_code == 201, accepted.text
    me = (await admin_api.get("/v1/users/me", headers=bearer(accepted.json()["access_token"]))).json()
    assert (me["email"], me["role"]) == (email, "manager")
    users = (await admin_api.get("/v1/users", headers=headers)).json()
    assert [(u["email"], u["role"]) for u in users["users"]] == [(owner["owner"]["email"], "owner"),
                                                                 (email, "manager")]

    # Single use: the token is spent, and the invitation no longer pending.
    again = await admin_api.post("/v1/invitations/accept", json={"token": token, "password": NEW_PASSWORD})
    assert "already accepted" in assert_error(again, 422, "invalid_invitation")["message"]
    assert (await admin_api.get("/v1/users/invitations", headers=headers)).json() == []
    # The address now has an account: inviting it again is a conflict.
    taken = await admin_api.post("/v1/users/invitations", headers=headers,
                                 json={"email": email, "role": "viewer"})
    assert_error(taken, 409, "email_taken")


async def test_expired_withdrawn_and_replaced_invitations_do_not_work(admin_api, pg):
    owner = await register(admin_api)
    headers = bearer(owner)
    expiring, expiring_token = await invite(admin_api, headers, "viewer")
    async with pg.begin() as conn:
        await conn.execute(text("UPDATE user_invitation SET expires_at = now() - interval '1 second' WHERE id = :i"),
                           {"i": expiring["id"]})
    answer = await admin_api.post("/v1/invitations/accept", json={"token": expiring_token, "password": NEW_PASSWORD})
    assert "expired" in assert_error(answer, 422, "invalid_invitation")["message"]

    withdrawn, withdrawn_token = await invite(admin_api, headers, "member")
    assert (await admin_api.delete(f"/v1/users/invitations/{withdrawn['id']}", headers=headers)).status_code == 204
    assert_error(await admin_api.delete(f"/v1/users/invitations/{withdrawn['id']}", headers=headers), 404)
    answer = await admin_api.post("/v1/invitations/accept", json={"token": withdrawn_token, "password": NEW_PASSWORD})
    assert "withdrawn" in assert_error(answer, 422, "invalid_invitation")["message"]

    twice = f"twice-{uuid.uuid4().hex[:8]}@example.com"
    _, old_token = await invite(admin_api, headers, "member", twice)
    _, new_token = await invite(admin_api, headers, "viewer", twice)
    assert_error(await admin_api.post("/v1/invitations/accept", json={"token": old_token, "password": NEW_PASSWORD}),
                 422, "invalid_invitation")
    assert (await admin_api.post("/v1/invitations/accept",
                                 json={"token": new_token, "password": NEW_PASSWORD})).status_code == 201
    assert_error(await admin_api.post("/v1/invitations/accept", json={"token": "mli_nope", "password": NEW_PASSWORD}),
                 422, "invalid_invitation")


async def test_only_admins_see_invitation_tokens_in_the_outbox(admin_api):
    owner = await register(admin_api)
    await invite(admin_api, bearer(owner), "admin")
    member, _ = await join(admin_api, bearer(owner), "member")
    [seen_by_member] = [m for m in await outbox(admin_api, bearer(member["access_token"]))
                        if m["body"].get("type") == "invitation" and m["body"]["role"] == "admin"]
    assert seen_by_member["body"]["token"] == "(hidden)"


async def test_role_rules_and_one_owner(admin_api):
    owner = await register(admin_api)
    owner_headers = bearer(owner)
    admin, admin_user = await join(admin_api, owner_headers, "admin")
    member, member_user = await join(admin_api, owner_headers, "member")
    admin_headers = bearer(admin["access_token"])

    # An admin manages users below admin only, and grants only below admin.
    assert_error(await admin_api.post("/v1/users/invitations", headers=admin_headers,
                                      json={"email": "x@example.com", "role": "admin"}), 403, "role_rule")
    assert_error(await admin_api.put(f"/v1/users/{member_user['id']}/role", headers=admin_headers,
                                     json={"role": "admin"}), 403, "role_rule")
    assert_error(await admin_api.put(f"/v1/users/{owner['owner']['id']}/role", headers=admin_headers,
                                     json={"role": "viewer"}), 403, "role_rule")
    assert_error(await admin_api.delete(f"/v1/users/{owner['owner']['id']}", headers=admin_headers), 403, "role_rule")
    assert_error(await admin_api.delete(f"/v1/users/{admin_user['id']}", headers=admin_headers), 403, "role_rule")
    changed = await admin_api.put(f"/v1/users/{member_user['id']}/role", headers=admin_headers, json={"role": "manager"})
    assert changed.status_code == 200 and changed.json()["role"] == "manager"
    # Nobody is made owner but by a transfer, which only the owner makes.
    assert_error(await admin_api.put(f"/v1/users/{member_user['id']}/role", headers=owner_headers,
                                     json={"role": "owner"}), 422)
    assert_error(await admin_api.post("/v1/users/transfer-ownership", headers=admin_headers,
                                      json={"user_id": admin_user["id"]}), 403, "forbidden")
    assert_error(await admin_api.post("/v1/users/transfer-ownership", headers=owner_headers,
                                      json={"user_id": str(uuid.uuid4())}), 404)

    transferred = await admin_api.post("/v1/users/transfer-ownership", headers=owner_headers,
                                       json={"user_id": member_user["id"]})
    assert transferred.status_code == 204, transferred.text
    roles = {u["id"]: u["role"] for u in (await admin_api.get("/v1/users", headers=admin_headers)).json()["users"]}
    assert roles == {owner["owner"]["id"]: "admin", admin_user["id"]: "admin", member_user["id"]: "owner"}
    # The old owner is an admin from their next request on.
    assert_error(await admin_api.post("/v1/users/transfer-ownership", headers=owner_headers,
                                      json={"user_id": admin_user["id"]}), 403, "forbidden")


async def test_the_database_keeps_exactly_one_owner(admin_api, pg):
    owner = await register(admin_api)
    tenant_id = owner["tenant"]["id"]
    database = Database(pg)
    with pytest.raises(ConstraintViolation) as second:
        async with database.begin() as conn:
            await conn.execute(text("INSERT INTO app_user (tenant_id, email, password_hash, role) "
                                    "VALUES (:t, :e, 'x', 'owner')"), {"t": tenant_id, "e": f"{uuid.uuid4().hex}@x.io"})
    assert second.value.constraint == "app_user_one_owner"
    with pytest.raises(ConstraintViolation) as none:
        async with database.begin() as conn:
            await conn.execute(text("UPDATE app_user SET role = 'admin' WHERE id = :u"), {"u": owner["owner"]["id"]})
    assert none.value.constraint == "app_user_keeps_owner"
    with pytest.raises(ConstraintViolation):
        async with database.begin() as conn:
            await conn.execute(text("DELETE FROM app_user WHERE id = :u"), {"u": owner["owner"]["id"]})
    async with pg.connect() as conn:
        owners = (await conn.execute(text("SELECT count(*) FROM app_user WHERE tenant_id = :t AND role = 'owner'"),
                                     {"t": tenant_id})).scalar_one()
    assert owners == 1


async def test_a_removed_user_is_refused_at_the_next_request(admin_api, stack):
    owner = await register(admin_api)
    token = bearer(await signed_in_user(stack, uuid.UUID(owner["tenant"]["id"]), "admin"))
    me = (await admin_api.get("/v1/users/me", headers=token)).json()
    assert (await admin_api.get("/v1/audit", headers=token)).status_code == 200
    assert (await admin_api.delete(f"/v1/users/{me['id']}", headers=bearer(owner))).status_code == 204
    assert_error(await admin_api.get("/v1/meters", headers=token), 401, "invalid_token")
    assert_error(await admin_api.delete(f"/v1/users/{me['id']}", headers=bearer(owner)), 404)


async def test_a_downgraded_user_loses_the_role_at_the_next_request(admin_api, stack):
    owner = await register(admin_api)
    token = bearer(await signed_in_user(stack, uuid.UUID(owner["tenant"]["id"]), "admin"))
    me = (await admin_api.get("/v1/users/me", headers=token)).json()
    assert (await admin_api.get("/v1/audit", headers=token)).status_code == 200
    assert (await admin_api.put(f"/v1/users/{me['id']}/role", headers=bearer(owner),
                                json={"role": "viewer"})).status_code == 200
    # The same token, still within its 30 minutes and still saying "admin": refused.
    error = assert_error(await admin_api.get("/v1/audit", headers=token), 403, "forbidden")
    assert "you are viewer" in error["message"]
    assert (await admin_api.get("/v1/meters", headers=token)).status_code == 200


async def test_members_manage_their_own_api_keys_admins_everyones(admin_api, pg):
    owner = await register(admin_api)
    member, member_user = await join(admin_api, bearer(owner), "member")
    member_headers = bearer(member["access_token"])
    created = await admin_api.post("/v1/api-keys", headers=member_headers, json={"name": "member-key"})
    assert created.status_code == 201 and created.json()["owner_user_id"] == member_user["id"]
    assert [k["name"] for k in (await admin_api.get("/v1/api-keys", headers=member_headers)).json()] == ["member-key"]
    # The owner's first key is not the member's to see or revoke.
    assert_error(await admin_api.delete(f"/v1/api-keys/{owner['api_key']['id']}", headers=member_headers), 404)
    everyone = {k["name"] for k in (await admin_api.get("/v1/api-keys", headers=bearer(owner))).json()}
    assert everyone == {"default", "member-key"}
    assert (await admin_api.delete(f"/v1/api-keys/{created.json()['id']}", headers=bearer(owner))).status_code == 204

    # A removed member's keys stay (ingest goes on), owned by nobody, for admins to manage.
    kept = (await admin_api.post("/v1/api-keys", headers=member_headers, json={"name": "kept"})).json()
    assert (await admin_api.delete(f"/v1/users/{member_user['id']}", headers=bearer(owner))).status_code == 204
    [row] = [k for k in (await admin_api.get("/v1/api-keys", headers=bearer(owner))).json() if k["id"] == kept["id"]]
    assert row["owner_user_id"] is None and row["revoked_at"] is None


async def test_the_audit_log_records_each_change_with_its_actor_and_pages(admin_api):
    owner = await register(admin_api)
    headers = bearer(owner)
    manager, manager_user = await join(admin_api, headers, "manager")
    key = (await admin_api.post("/v1/api-keys", headers=headers, json={"name": "audited"})).json()
    await admin_api.delete(f"/v1/api-keys/{key['id']}", headers=headers)
    await admin_api.put(f"/v1/users/{manager_user['id']}/role", headers=headers, json={"role": "viewer"})
    refused = await admin_api.put(f"/v1/users/{owner['owner']['id']}/role", headers=headers, json={"role": "viewer"})
    assert refused.status_code == 403  # refused: and so not in the log
    await admin_api.delete(f"/v1/users/{manager_user['id']}", headers=headers)

    entries = await audit_actions(admin_api, headers)
    assert [e["action"] for e in entries] == ["user.removed", "user.role_changed", "api_key.revoked", "api_key.created",
                                              "user.joined", "user.invited"]
    by_action = {e["action"]: e for e in entries}
    assert by_action["user.role_changed"]["details"] == {"email": manager_user["email"], "from": "manager",
                                                         "to": "viewer"}
    assert by_action["user.role_changed"]["actor_email"] == owner["owner"]["email"]
    assert by_action["user.joined"]["actor_id"] == manager_user["id"]

    first = (await admin_api.get("/v1/audit", headers=headers, params={"limit": 4})).json()
    rest = (await admin_api.get("/v1/audit", headers=headers, params={"limit": 4, "cursor": first["next_cursor"]})).json()
    assert [e["id"] for e in first["entries"] + rest["entries"]] == [e["id"] for e in entries]
    assert rest["next_cursor"] is None
    assert_error(await admin_api.get("/v1/audit", headers=headers, params={"cursor": "garbage"}), 422)
    # Managers do not read it.
    other_manager, _ = await join(admin_api, headers, "manager")
    assert_error(await admin_api.get("/v1/audit", headers=bearer(other_manager["access_token"])), 403)


async def test_subscription_changes_are_audited(admin_api, stack):
    owner = await register(admin_api)
    headers = bearer(owner)
    operator = await operator_headers(admin_api, stack, "finance")
    plan = {"slug": "p" + uuid.uuid4().hex[:10], "name": "Flat", "currency": "USD", "flat_fee": "10.00", "charges": []}
    assert (await admin_api.post("/v1/plans", headers=operator, json=plan)).status_code == 201
    subscribed = await admin_api.post("/v1/subscriptions", headers=headers, json={"plan_slug": plan["slug"]})
    assert subscribed.status_code == 201, subscribed.text
    cancelled = await admin_api.post("/v1/subscriptions/current/cancel", headers=headers, json={"at_period_end": False})
    assert cancelled.status_code == 200, cancelled.text
    entries = await audit_actions(admin_api, headers)
    assert [e["action"] for e in entries][:2] == ["subscription.canceled", "subscription.created"]
    assert entries[1]["details"]["plan"] == plan["slug"]
