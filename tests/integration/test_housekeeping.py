"""Housekeeping against the real PostgreSQL (and Prefect, for the flow): sessions, refresh
tokens and invitations made through the API, aged with SQL where the test needs the past;
exactly the rows the rules allow are deleted, in batches; a valid refresh token still
refreshes and a used one is still caught as reuse; invitation previews answer 410 while an
ended invitation is kept and 404 once it is pruned; the audit log stays; a second run
deletes nothing.

Each test first prunes whatever earlier runs left past its retention, so the counts it
asserts are its own rows'."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from api.auth import hash_opaque_token
from billing_jobs.housekeeping import (
    PruneCounts, invitation_prunable, prune_expired, refresh_token_prunable, retention_cutoffs, session_prunable,
)
from flows.housekeeping import prune_expired_records
from meterline.bootstrap import pg_sync_engine, retention_policy
from meterline.cli import main as meterline
from tests.integration.test_people import NEW_PASSWORD, invite
from tests.support.admin_api import assert_error, bearer, register
from warehouse.postgres.housekeeping import PgHousekeepingStore

pytestmark = pytest.mark.integration

PREVIEW = "/v1/invitations/preview"
NOTHING = PruneCounts(refresh_tokens=0, sessions=0, invitations=0)


@pytest.fixture(scope="module")
def store(stack):
    """Batches of two rows, so every kind takes more than one DELETE."""
    engine = pg_sync_engine(stack)
    yield PgHousekeepingStore(engine, batch_rows=2)
    engine.dispose()


def prune(stack, store) -> PruneCounts:
    return prune_expired(store=store, policy=retention_policy(stack), now=datetime.now(timezone.utc))


async def login(client, email: str) -> str:
    response = await client.post("/v1/auth/login", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 200, response.text
    return response.json()["refresh_token"]


async def refresh(client, token: str):
    return await client.post("/v1/auth/refresh", json={"refresh_token": token})


async def rotated(client, token: str) -> str:
    response = await refresh(client, token)
    assert response.status_code == 200, response.text
    return response.json()["refresh_token"]


async def age(pg, sql: str, **params) -> None:
    async with pg.begin() as conn:
        assert (await conn.execute(text(sql), params)).rowcount >= 1, sql


async def age_token(pg, token: str, expired_days_ago: int, session_created_days_ago: int | None = None) -> None:
    await age(pg, "UPDATE refresh_token SET expires_at = now() - make_interval(days => :d) WHERE token_hash = :h",
              d=expired_days_ago, h=hash_opaque_token(token))
    if session_created_days_ago is not None:
        await age(pg, "UPDATE user_session SET created_at = now() - make_interval(days => :d) WHERE id = "
                      "(SELECT session_id FROM refresh_token WHERE token_hash = :h)",
                  d=session_created_days_ago, h=hash_opaque_token(token))


async def logged_out(client, email: str) -> str:
    """A session ended by its logout: its refresh token."""
    response = await client.post("/v1/auth/login", json={"email": email, "password": "correct horse battery"})
    tokens = response.json()
    assert (await client.post("/v1/auth/logout", headers=bearer(tokens["access_token"]))).status_code == 204
    return tokens["refresh_token"]


async def tenant_rows(pg, tenant_id: str) -> dict[str, list]:
    """The tenant's tokens, sessions (with their tokens' expiries) and invitations, as stored."""
    async with pg.connect() as conn:
        tokens = (await conn.execute(text(
            "SELECT t.token_hash, t.used_at, t.expires_at, t.session_id FROM refresh_token t "
            "JOIN user_session s ON s.id = t.session_id JOIN app_user u ON u.id = s.user_id "
            "WHERE u.tenant_id = :t"), {"t": tenant_id})).all()
        sessions = (await conn.execute(text(
            "SELECT s.id, s.created_at, s.revoked_at, array_remove(array_agg(t.expires_at), NULL) FROM user_session s "
            "JOIN app_user u ON u.id = s.user_id LEFT JOIN refresh_token t ON t.session_id = s.id "
            "WHERE u.tenant_id = :t GROUP BY s.id"), {"t": tenant_id})).all()
        invitations = (await conn.execute(text(
            "SELECT id, accepted_at, revoked_at, expires_at FROM user_invitation WHERE tenant_id = :t"),
            {"t": tenant_id})).all()
    return {"tokens": tokens, "sessions": sessions, "invitations": invitations}


def kept_by_the_rules(rows: dict[str, list], cutoffs) -> dict[str, set]:
    """What billing_jobs.housekeeping's predicates keep of `rows` (ids), to hold the SQL to them;
    a pruned session's tokens go with it."""
    sessions = {r[0] for r in rows["sessions"] if not session_prunable(r[1], r[2], r[3], cutoffs)}
    return {"tokens": {r[0] for r in rows["tokens"]
                       if r[3] in sessions and not refresh_token_prunable(r[1], r[2], cutoffs)},
            "sessions": sessions,
            "invitations": {r[0] for r in rows["invitations"] if not invitation_prunable(r[1], r[2], r[3], cutoffs)}}


async def audit_count(pg, tenant_id: str) -> int:
    async with pg.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM audit_event WHERE tenant_id = :t"),
                                   {"t": tenant_id})).scalar_one()


async def preview_status(client, token: str) -> tuple[int, str | None]:
    response = await client.post(PREVIEW, json={"token": token})
    return response.status_code, response.json().get("error", {}).get("code")


async def invitations_of_every_kind(client, pg, headers) -> dict[str, str]:
    """{kind: token}: accepted/withdrawn/expired long ago and lately, and one pending."""
    tokens = {}
    for kind in ("accepted_long_ago", "accepted_lately"):
        _, tokens[kind] = await invite(client, headers, "viewer")
        accepted = await client.post("/v1/invitations/accept",
                                     json={"token": tokens[kind], "password": NEW_PASSWORD})
        assert accepted.status_code == 201, accepted.text
    withdrawn, tokens["withdrawn_long_ago"] = await invite(client, headers, "member")
    assert (await client.delete(f"/v1/users/invitations/{withdrawn['id']}", headers=headers)).status_code == 204
    for kind in ("expired_long_ago", "expired_lately", "pending"):
        _, tokens[kind] = await invite(client, headers, "member")
    for kind, column, days in (("accepted_long_ago", "accepted_at", 40), ("withdrawn_long_ago", "revoked_at", 40),
                               ("expired_long_ago", "expires_at", 40), ("expired_lately", "expires_at", 1)):
        await age(pg, f"UPDATE user_invitation SET {column} = now() - make_interval(days => :d) WHERE token_hash = :h",
                  d=days, h=hash_opaque_token(tokens[kind]))
    return tokens


async def test_exactly_what_ended_past_its_retention_goes_and_sign_in_keeps_working(admin_api, pg, stack, store):
    prune(stack, store)
    owner = await register(admin_api)
    tenant_id, email = owner["tenant"]["id"], owner["owner"]["email"]
    # A long session: its first token used and expired long ago, the next used but valid, the last current.
    first = await login(admin_api, email)
    second = await rotated(admin_api, first)
    current = await rotated(admin_api, second)
    await age_token(pg, first, expired_days_ago=40)
    stolen = await login(admin_api, email)  # used, valid: presenting it again must still end its session
    successor = await rotated(admin_api, stolen)
    expired_long_ago, expired_lately = await login(admin_api, email), await login(admin_api, email)
    await age_token(pg, expired_long_ago, expired_days_ago=40, session_created_days_ago=47)
    await age_token(pg, expired_lately, expired_days_ago=10, session_created_days_ago=17)
    revoked_long_ago, revoked_lately = await logged_out(admin_api, email), await logged_out(admin_api, email)
    await age(pg, "UPDATE user_session SET revoked_at = now() - interval '40 days', created_at = now() - "
                  "interval '41 days' WHERE id = (SELECT session_id FROM refresh_token WHERE token_hash = :h)",
              h=hash_opaque_token(revoked_long_ago))
    invitations = await invitations_of_every_kind(admin_api, pg, bearer(owner))
    audited = await audit_count(pg, tenant_id)
    before = await tenant_rows(pg, tenant_id)

    now = datetime.now(timezone.utc)
    counts = prune_expired(store=store, policy=retention_policy(stack), now=now)

    assert counts == PruneCounts(refresh_tokens=1, sessions=2, invitations=3)
    after = await tenant_rows(pg, tenant_id)
    left = {kind: {row[0] for row in rows} for kind, rows in after.items()}
    assert left == kept_by_the_rules(before, retention_cutoffs(retention_policy(stack), now))
    gone = {first, expired_long_ago, revoked_long_ago}
    kept = {second, current, stolen, successor, expired_lately, revoked_lately}
    assert {hash_opaque_token(t) for t in kept} <= left["tokens"]
    assert not {hash_opaque_token(t) for t in gone} & left["tokens"]
    assert len(before["sessions"]) - len(after["sessions"]) == 2
    assert await audit_count(pg, tenant_id) == audited  # the record stays

    assert (await refresh(admin_api, current)).status_code == 200
    assert_error(await refresh(admin_api, stolen), 401, "refresh_token_reused")
    assert_error(await refresh(admin_api, successor), 401, "refresh_token_revoked")
    assert_error(await refresh(admin_api, expired_lately), 401, "refresh_token_expired")
    for token in gone:
        assert_error(await refresh(admin_api, token), 401, "refresh_token_unknown")
    assert {kind: await preview_status(admin_api, token) for kind, token in invitations.items()} == {
        "accepted_long_ago": (404, "invitation_not_found"), "accepted_lately": (410, "invitation_accepted"),
        "withdrawn_long_ago": (404, "invitation_not_found"), "expired_long_ago": (404, "invitation_not_found"),
        "expired_lately": (410, "invitation_expired"), "pending": (200, None)}
    assert prune(stack, store) == NOTHING


async def test_the_flow_and_the_cli_prune_and_a_second_run_is_a_no_op(admin_api, pg, stack, store, capsys):
    prune(stack, store)
    owner = await register(admin_api)
    email = owner["owner"]["email"]
    old = await login(admin_api, email)
    current = await rotated(admin_api, old)
    await age_token(pg, old, expired_days_ago=40)
    _, invitation = await invite(admin_api, bearer(owner), "viewer")
    await age(pg, "UPDATE user_invitation SET expires_at = now() - interval '40 days' WHERE token_hash = :h",
              h=hash_opaque_token(invitation))

    assert prune_expired_records() == {"refresh_tokens": 1, "sessions": 0, "invitations": 1}
    assert (await preview_status(admin_api, invitation)) == (404, "invitation_not_found")
    assert prune_expired_records() == NOTHING.as_dict()
    assert (await refresh(admin_api, current)).status_code == 200

    assert meterline(["housekeeping", "prune"]) == 0
    assert capsys.readouterr().out.strip() == ("deleted 0 used refresh tokens, 0 ended sessions (with their tokens), "
                                               "0 ended invitations")


def test_a_batch_size_below_one_is_refused(stack):
    with pytest.raises(ValueError, match="batch_rows must be at least 1"):
        PgHousekeepingStore(pg_sync_engine(stack), batch_rows=0)
