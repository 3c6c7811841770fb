"""Operator accounts over HTTP (in-process ASGI) against real PostgreSQL and localstripe.

The bootstrap token creates accounts and nothing else; operator and tenant access tokens
never pass each other's checks; every operator route answers each role as the role table
(api/operator_roles.py) says; the tenants list pages through every tenant.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import jwt
import pytest
from sqlalchemy import update

from api.operator_roles import OPERATOR_ROLES, ROLE_PERMISSIONS
from meterline.settings import Settings
from tests.support.admin_api import PASSWORD, assert_error, bearer, register
from tests.support.operators import OPERATOR_PASSWORD, bootstrap_headers, new_operator_body, operator_headers
from warehouse.postgres.lifecycle_tables import operator_account

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def client(admin_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return admin_api


@pytest.fixture(scope="module")
async def roles(client: httpx.AsyncClient, stack: Settings) -> dict[str, dict[str, str]]:
    return {role: await operator_headers(client, stack, role) for role in OPERATOR_ROLES}


# ---------------------------------------------------------------- the bootstrap token


async def test_the_bootstrap_token_creates_operators_and_nothing_else(client, stack, roles):
    body = new_operator_body("sre")
    assert_error(await client.post("/v1/operator/accounts", json=body), 401)
    assert_error(await client.post("/v1/operator/accounts", json=body, headers=roles["finance"]), 403)
    assert_error(await client.post("/v1/operator/accounts", json=body,
                                   headers={"Authorization": "Bearer not-the-token"}), 403)
    created = await client.post("/v1/operator/accounts", json=body, headers=bootstrap_headers(stack))
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "sre" and "pipeline.read" in created.json()["permissions"]
    assert "password" not in created.text and "hash" not in created.text
    assert_error(await client.post("/v1/operator/accounts", json=body, headers=bootstrap_headers(stack)),
                 409, "email_taken")
    weak = {**new_operator_body("finance"), "password": "password1"}
    assert_error(await client.post("/v1/operator/accounts", json=weak, headers=bootstrap_headers(stack)),
                 422, "weak_password")
    assert_error(await client.post("/v1/operator/accounts", headers=bootstrap_headers(stack),
                                   json={**new_operator_body("finance"), "role": "owner"}), 422)
    # Anywhere else the bootstrap token is no credential at all.
    for method, path in [("GET", "/v1/operator/tenants"), ("GET", "/v1/operator/me"),
                         ("GET", "/v1/operator/analytics/mrr?from=2026-01"), ("GET", "/v1/api-keys")]:
        assert_error(await client.request(method, path, headers=bootstrap_headers(stack)), 401)


async def test_operator_login_gives_a_token_of_the_accounts_role(client, stack):
    body = new_operator_body("finance")
    assert (await client.post("/v1/operator/accounts", json=body, headers=bootstrap_headers(stack))).status_code == 201
    assert_error(await client.post("/v1/operator/auth/login", json={"email": body["email"], "password": "wrong"}),
                 401, "invalid_credentials")
    assert_error(await client.post("/v1/operator/auth/login", json={"email": "nobody@operators.test",
                                                                     "password": OPERATOR_PASSWORD}),
                 401, "invalid_credentials")
    login = await client.post("/v1/operator/auth/login", json={"email": body["email"].upper(),
                                                                "password": OPERATOR_PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()
    assert token["role"] == "finance" and token["token_type"] == "bearer"
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["kind"] == "operator" and claims["aud"] == "meterline-operator" and "tenant_id" not in claims
    me = await client.get("/v1/operator/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == body["email"]
    # Tenant logins do not know operators, and operator logins do not know tenants' people.
    assert_error(await client.post("/v1/auth/login", json={"email": body["email"], "password": OPERATOR_PASSWORD}),
                 401)
    tenant = await register(client)
    assert_error(await client.post("/v1/operator/auth/login", json={"email": tenant["owner"]["email"],
                                                                     "password": PASSWORD}), 401)


# ---------------------------------------------------------------- tokens never cross


async def test_tenant_and_operator_tokens_never_pass_each_others_checks(client, stack, roles):
    tenant = await register(client)
    owner = bearer(tenant)
    for path in ("/v1/operator/tenants", "/v1/operator/me", "/v1/operator/retained-invoices",
                 "/v1/operator/analytics/usage?from=2026-01"):
        assert_error(await client.get(path, headers=owner), 401, "invalid_token")
    assert_error(await client.post(f"/v1/operator/tenants/{tenant['tenant']['id']}/suspend", headers=owner,
                                   json={"reason": "self"}), 401, "invalid_token")
    for role in OPERATOR_ROLES:
        for path in ("/v1/api-keys", "/v1/meters", "/v1/invoices", "/v1/tenant", "/v1/plans"):
            assert_error(await client.get(path, headers=roles[role]), 401, "invalid_token")
    # A tenant token given the operator audience still lacks what an operator token is:
    # signed with the same secret, it is refused on both sides.
    claims = jwt.decode(tenant["access_token"]["access_token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "aud": "meterline-operator"}, stack.jwt.secret.get_secret_value(), "HS256")
    assert_error(await client.get("/v1/operator/tenants", headers={"Authorization": f"Bearer {forged}"}), 401)
    assert_error(await client.get("/v1/api-keys", headers={"Authorization": f"Bearer {forged}"}), 401)


async def test_a_disabled_operator_is_refused_at_the_next_request(client, stack, pg):
    headers = await operator_headers(client, stack, "sre")
    me = (await client.get("/v1/operator/me", headers=headers)).json()
    assert (await client.get("/v1/operator/tenants", headers=headers)).status_code == 200
    async with pg.begin() as conn:
        await conn.execute(update(operator_account).where(operator_account.c.id == uuid.UUID(me["id"]))
                           .values(disabled_at=datetime.now(timezone.utc)))
    assert_error(await client.get("/v1/operator/tenants", headers=headers), 401, "invalid_token")
    assert_error(await client.post("/v1/operator/auth/login", json={"email": me["email"],
                                                                     "password": OPERATOR_PASSWORD}), 401)


# ---------------------------------------------------------------- the role table

# Every operator route and the permission it needs; a route missing here fails the test,
# so a new operator route cannot skip the table.
ROUTE_PERMISSIONS = {
    ("GET", "/v1/operator/analytics/mrr"): "analytics.revenue",
    ("GET", "/v1/operator/analytics/arpu"): "analytics.revenue",
    ("GET", "/v1/operator/analytics/subscriptions"): "analytics.revenue",
    ("GET", "/v1/operator/analytics/churn"): "analytics.revenue",
    ("GET", "/v1/operator/analytics/revenue"): "analytics.revenue",
    ("GET", "/v1/operator/analytics/revenue/top"): "analytics.revenue",
    ("GET", "/v1/operator/analytics/usage"): "analytics.usage",
    ("GET", "/v1/operator/analytics/usage/top"): "analytics.usage",
    ("GET", "/v1/operator/analytics/pipeline"): "pipeline.read",
    ("GET", "/v1/operator/tenants"): "tenants.read",
    ("POST", "/v1/operator/tenants/{tenant_id}/suspend"): "tenants.suspend",
    ("POST", "/v1/operator/tenants/{tenant_id}/resume"): "tenants.suspend",
    ("GET", "/v1/operator/retained-invoices"): "invoices.retained",
    ("POST", "/v1/plans"): "plans.write",
    ("POST", "/v1/operator/tenants/{tenant_id}/subscriptions"): "billing.run",
    ("POST", "/v1/operator/invoice-runs"): "billing.run",
    ("GET", "/v1/operator/invoice-runs"): "billing.run",
    ("GET", "/v1/operator/invoice-runs/{run_id}"): "billing.run",
}
# Open to any operator (their own account, logging in) or to the bootstrap token only.
NOT_IN_THE_TABLE = {("GET", "/v1/operator/me"), ("POST", "/v1/operator/auth/login"),
                    ("POST", "/v1/operator/accounts")}


def _request(method: str, path: str, tenant_id: str) -> dict:
    path = path.replace("{tenant_id}", tenant_id)
    if path.startswith("/v1/operator/analytics"):
        return {"method": method, "url": path, "params": {"from": "2026-01"}}
    if path == "/v1/plans":
        return {"method": method, "url": path, "json": {"slug": "p" + uuid.uuid4().hex[:10], "name": "Table",
                                                       "currency": "USD", "flat_fee": "1.00"}}
    if path.endswith("/subscriptions"):  # past the permission check: 404, the plan is unknown
        return {"method": method, "url": path, "json": {"plan_slug": "no-such-plan",
                                                       "started_at": "2026-01-01T00:00:00Z"}}
    if path == "/v1/operator/invoice-runs" and method == "POST":  # past the permission check: 422, a future period
        return {"method": method, "url": path, "json": {"period": "2099-01"}}
    if path.endswith("{run_id}"):  # past the permission check: 404, not a run
        return {"method": method, "url": path.replace("{run_id}", str(uuid.uuid4()))}
    if path.endswith("/suspend"):
        return {"method": method, "url": path, "json": {"reason": "role table test"}}
    return {"method": method, "url": path}


async def test_every_operator_route_answers_each_role_as_the_role_table_says(client, roles, flows_service):
    """flows_service: the invoice runs' routes read the served invoice deployment from Prefect."""
    operator_routes = {(method.upper(), path) for path, operations in client.app.openapi()["paths"].items()
                       for method in operations
                       if path.startswith("/v1/operator") or (path, method) == ("/v1/plans", "post")}
    assert operator_routes == set(ROUTE_PERMISSIONS) | NOT_IN_THE_TABLE
    tenant_id = (await register(client))["tenant"]["id"]
    for (method, path), permission in sorted(ROUTE_PERMISSIONS.items()):
        for role in OPERATOR_ROLES:
            response = await client.request(**_request(method, path, tenant_id), headers=roles[role])
            if permission in ROLE_PERMISSIONS[role]:
                assert response.status_code in (200, 201, 404, 409, 422), (role, method, path, response.text)
            else:
                assert_error(response, 403, "forbidden")


# ---------------------------------------------------------------- the tenants list


async def test_the_tenants_list_pages_through_every_tenant_with_status_and_plan(client, roles):
    prefix = "ls" + uuid.uuid4().hex[:6]
    created = [await register(client, f"{prefix}-{n}") for n in range(3)]
    suspended = created[1]["tenant"]["id"]
    answer = await client.post(f"/v1/operator/tenants/{suspended}/suspend", headers=roles["sre"],
                               json={"reason": "abusive traffic"})
    assert answer.status_code == 200 and answer.json()["status"] == "suspended"
    plan = {"slug": "p" + uuid.uuid4().hex[:10], "name": "Listed", "currency": "USD", "flat_fee": "5.00"}
    assert (await client.post("/v1/plans", json=plan, headers=roles["finance"])).status_code == 201
    subscribed = await client.post("/v1/subscriptions", headers=bearer(created[0]), json={"plan_slug": plan["slug"]})
    assert subscribed.status_code == 201, subscribed.text

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/operator/tenants", headers=roles["finance"], params=params)).json()
        seen += page["tenants"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    slugs = [t["slug"] for t in seen]
    assert slugs == sorted(slugs) and len(slugs) == len(set(slugs)) and pages >= 2
    mine = {t["slug"]: t for t in seen if t["slug"].startswith(prefix)}
    assert [mine[f"{prefix}-{n}"]["status"] for n in range(3)] == ["active", "suspended", "active"]
    assert mine[f"{prefix}-1"]["status_reason"] == "abusive traffic" and mine[f"{prefix}-1"]["suspended_by"] == "operator"
    assert mine[f"{prefix}-0"]["plan_slug"] == plan["slug"] and mine[f"{prefix}-2"]["plan_slug"] is None

    only_suspended = (await client.get("/v1/operator/tenants", headers=roles["sre"],
                                       params={"status": "suspended", "limit": 200})).json()
    assert {t["status"] for t in only_suspended["tenants"]} == {"suspended"}
    assert suspended in {t["id"] for t in only_suspended["tenants"]}
    assert_error(await client.get("/v1/operator/tenants", headers=roles["sre"], params={"cursor": "bogus!"}),
                 422, "invalid_cursor")
    assert_error(await client.get("/v1/operator/tenants", headers=roles["sre"], params={"limit": 0}), 422)
    assert_error(await client.post(f"/v1/operator/tenants/{uuid.uuid4()}/suspend", headers=roles["sre"],
                                   json={"reason": "x"}), 404, "tenant_not_found")
    assert_error(await client.post(f"/v1/operator/tenants/{created[2]['tenant']['id']}/resume",
                                   headers=roles["sre"]), 409, "not_suspended")


async def test_an_expired_operator_token_is_refused(client, stack, roles):
    me = (await client.get("/v1/operator/me", headers=roles["sre"])).json()
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    expired = jwt.encode({"sub": me["id"], "role": "sre", "kind": "operator", "aud": "meterline-operator",
                          "iat": int(past.timestamp()), "exp": int((past + timedelta(minutes=30)).timestamp())},
                         stack.jwt.secret.get_secret_value(), "HS256")
    assert_error(await client.get("/v1/operator/me", headers={"Authorization": f"Bearer {expired}"}),
                 401, "invalid_token")


# ---------------------------------------------------------------- the terminal bootstrap


async def test_the_cli_creates_an_operator_who_can_sign_in(client, monkeypatch, capsys):
    from meterline.cli import main

    body = new_operator_body("sre")

    async def create(email: str, password: str) -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        # In a thread: the command runs its own event loop, as it does on a terminal.
        return await asyncio.to_thread(main, ["operator", "create", "--email", email, "--role", "sre",
                                              "--password-stdin"])

    assert await create(body["email"], body["password"]) == 0
    assert f"created operator {body['email']} (sre)" in capsys.readouterr().out
    assert await create(body["email"], body["password"]) == 1  # taken
    assert await create("x-" + body["email"], "short") == 2  # weak
    signed_in = await client.post("/v1/operator/auth/login", json={"email": body["email"], "password": body["password"]})
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "sre"


async def test_the_cli_lists_disables_enables_and_changes_the_role_of_an_operator(client, stack, capsys):
    """Offboarding without waiting for a token to expire: `disable` refuses the token the
    operator already holds at its next request, and their logins; `set-role` changes what
    that same token may do."""
    from meterline.cli import main

    headers = await operator_headers(client, stack, "sre")
    me = (await client.get("/v1/operator/me", headers=headers)).json()
    email = me["email"]

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, ["operator", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = await run("list")
    assert code == 0
    listed = next(line for line in out.splitlines() if line.startswith(email))
    assert listed.split()[1] == "sre" and listed.rstrip().endswith("-")

    assert (await client.get("/v1/operator/analytics/pipeline", headers=headers)).status_code == 200
    assert_error(await client.get("/v1/operator/invoice-runs", headers=headers), 403)
    code, out, _ = await run("set-role", "--email", email.upper(), "--role", "finance")
    assert code == 0 and f"operator {email}: role finance, active" in out
    assert (await client.get("/v1/operator/me", headers=headers)).json()["role"] == "finance"
    assert (await client.get("/v1/operator/invoice-runs", headers=headers)).status_code == 200
    assert_error(await client.get("/v1/operator/analytics/pipeline", headers=headers), 403)

    code, out, _ = await run("disable", "--email", email)
    assert code == 0 and "disabled since" in out
    assert_error(await client.get("/v1/operator/me", headers=headers), 401, "invalid_token")
    assert_error(await client.post("/v1/operator/auth/login", json={"email": email, "password": OPERATOR_PASSWORD}),
                 401)
    code, out, _ = await run("list")
    assert not next(line for line in out.splitlines() if line.startswith(email)).rstrip().endswith("-")

    code, out, _ = await run("enable", "--email", email)
    assert code == 0 and f"operator {email}: role finance, active" in out
    signed_in = await client.post("/v1/operator/auth/login", json={"email": email, "password": OPERATOR_PASSWORD})
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "finance"

    code, _, err = await run("disable", "--email", "nobody@operators.test")
    assert code == 1 and "no operator with the email nobody@operators.test" in err
