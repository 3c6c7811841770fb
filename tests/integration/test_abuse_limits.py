"""Abuse limits of the admin API against real PostgreSQL and localstripe (issue 11, "Abuse").

Each test builds the app with its own low limits (the suite's defaults are far above
anything a test does, tests/conftest.py) and calls it from its own made-up client
address, so counters in the shared database never cross tests. "Several replicas" are
two apps with two engines over the same database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.admin_api import PASSWORD, add_user, login
from tests.support.operators import operator_headers
from meterline.bootstrap import api_app
from meterline.settings import Settings
from warehouse.postgres.tables import plan, subscription, tenant

pytestmark = pytest.mark.integration


def limited(stack: Settings, **api_limits) -> Settings:
    return stack.model_copy(update={"api": stack.api.model_copy(update=api_limits)})


def fresh_address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


@asynccontextmanager
async def api_client(settings: Settings, address: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """One API replica (its own app and pg), seen from client `address`."""
    application = api_app(settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, client=(address or fresh_address(), 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            yield http


def slug() -> str:
    return "t" + uuid.uuid4().hex[:10]


async def register(client: httpx.AsyncClient, tenant_slug: str | None = None, password: str = PASSWORD) -> httpx.Response:
    tenant_slug = tenant_slug or slug()
    return await client.post("/v1/tenants", json={"slug": tenant_slug, "name": f"Tenant {tenant_slug}",
                                                  "owner_email": f"owner@{tenant_slug}.example",
                                                  "owner_password": password})


def assert_429(response: httpx.Response, code: str) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


# ---------------------------------------------------------------- logins


async def test_wrong_passwords_for_one_account_get_429_before_the_30th(stack: Settings):
    settings = limited(stack, login_failures_per_account=10, login_lockout_initial_s=30)
    async with api_client(settings) as client:
        owner = (await register(client)).json()["owner"]["email"]
    answers = []
    for attempt in range(30):  # each from another address: the account's own limit must hold
        async with api_client(settings) as client:
            answers.append(await login(client, owner, f"wrong password {attempt}"))
    statuses = [r.status_code for r in answers]
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}
    assert 1 <= assert_429(answers[10], "login_locked") <= 30
    async with api_client(settings) as client:
        # Locked: even the right password waits, so guessing on during a lockout is pointless.
        assert_429(await login(client, owner, PASSWORD), "login_locked")


async def test_the_lockout_grows_with_each_failure_and_a_success_clears_it(stack: Settings):
    settings = limited(stack, login_failures_per_account=3, login_lockout_initial_s=1, login_lockout_max_s=60)
    address = fresh_address()
    async with api_client(settings, address) as client:
        owner = (await register(client)).json()["owner"]["email"]
        for _ in range(3):
            assert (await login(client, owner, "wrong wrong wrong")).status_code == 401
        assert_429(await login(client, owner, "wrong wrong wrong"), "login_locked")  # 1 s lockout
        await asyncio.sleep(1.2)
        assert (await login(client, owner, "wrong wrong wrong")).status_code == 401  # 4th failure: 2 s
        assert assert_429(await login(client, owner, PASSWORD), "login_locked") == 2
        await asyncio.sleep(2.2)
        assert (await login(client, owner, PASSWORD)).status_code == 200
        # The success cleared the account's failures: three more before a lockout again.
        for _ in range(3):
            assert (await login(client, owner, "wrong wrong wrong")).status_code == 401
        assert_429(await login(client, owner, PASSWORD), "login_locked")


async def test_one_address_guessing_across_accounts_is_locked_out(stack: Settings):
    settings = limited(stack, login_failures_per_address=5, login_failures_per_account=1000)
    address = fresh_address()
    async with api_client(settings, address) as client:
        for n in range(5):
            assert (await login(client, f"nobody-{n}-{uuid.uuid4().hex[:6]}@example.com", "guess guess")).status_code == 401
        assert_429(await login(client, f"someone-{uuid.uuid4().hex[:6]}@example.com", "guess guess"), "login_locked")
    async with api_client(settings) as elsewhere:  # another address is not affected
        assert (await login(elsewhere, f"x-{uuid.uuid4().hex[:6]}@example.com", "guess guess")).status_code == 401


# ---------------------------------------------------------------- registrations


async def test_registrations_per_address_are_limited_and_a_refused_one_creates_nothing(stack: Settings,
                                                                                      pg: AsyncEngine):
    settings = limited(stack, registrations_per_address_per_hour=2)
    async with api_client(settings) as client:
        assert [(await register(client)).status_code for _ in range(2)] == [201, 201]
        refused_slug = slug()
        assert_429(await register(client, refused_slug), "registration_limited")
    async with pg.connect() as conn:
        assert (await conn.execute(select(tenant.c.id).where(tenant.c.slug == refused_slug))).first() is None
    async with api_client(settings) as elsewhere:
        assert (await register(elsewhere)).status_code == 201


async def test_registrations_from_all_addresses_together_are_capped(stack: Settings):
    # The hour's counter is shared with the rest of the suite: with a cap of 1, the second
    # of two attempts is over it whatever else registered this hour.
    settings = limited(stack, registrations_per_hour=1)
    answers = []
    for _ in range(2):
        async with api_client(settings) as client:
            answers.append(await register(client))
    assert_429(answers[1], "registration_limited")


@pytest.mark.parametrize("password, reason", [("shortpw9c", "at least 10"), ("password1234", "too weak"),
                                              ("qwertyuiop123", "too weak")])
async def test_weak_owner_passwords_are_refused(stack: Settings, password: str, reason: str):
    async with api_client(stack) as client:
        response = await register(client, password=password)
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [d["field"] for d in details] == ["owner_password"]
    assert reason in details[0]["reason"]


# ---------------------------------------------------------------- request quotas


async def wait_for_a_fresh_minute_if_close_to_its_end() -> None:
    # The quota counts per fixed minute: a test crossing into the next one would start over.
    left = 60 - time.time() % 60
    if left < 15:
        await asyncio.sleep(left + 0.5)


async def bearer_of(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await login(client, email, PASSWORD)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_request_quotas_per_user_and_per_tenant_hold_across_two_replicas(stack: Settings, pg: AsyncEngine):
    settings = limited(stack, requests_per_minute_default=5, requests_per_minute_per_user=3)
    async with api_client(settings) as one, api_client(settings) as two:
        registration = (await register(one)).json()
        tenant_id = registration["tenant"]["id"]
        first = {"Authorization": f"Bearer {registration['access_token']['access_token']}"}
        second = await bearer_of(one, await add_user(pg, tenant_id, "member"))
        await wait_for_a_fresh_minute_if_close_to_its_end()
        # The user's 3 per minute, alternating replicas: they count in one place.
        answers = [await replica.get("/v1/meters", headers=first) for replica in (one, two, one, two)]
        assert [r.status_code for r in answers[:3]] == [200, 200, 200]
        assert_429(answers[3], "rate_limited")
        # The tenant's 5: the first user's 4 attempts count, the second user has one left.
        assert (await two.get("/v1/meters", headers=second)).status_code == 200
        assert_429(await one.get("/v1/meters", headers=second), "rate_limited")
        # Another tenant is not affected.
        other = (await register(two)).json()
        other_bearer = {"Authorization": f"Bearer {other['access_token']['access_token']}"}
        assert (await one.get("/v1/meters", headers=other_bearer)).status_code == 200


async def test_the_quota_follows_the_tenants_plan(stack: Settings, pg: AsyncEngine):
    plan_slug = "p" + uuid.uuid4().hex[:10]
    settings = limited(stack, requests_per_minute_by_plan={plan_slug: 2}, requests_per_minute_default=50,
                       requests_per_minute_per_user=50)
    async with api_client(settings) as client:
        registration = (await register(client)).json()
        owner = {"Authorization": f"Bearer {registration['access_token']['access_token']}"}
        operator = await operator_headers(client, stack, "finance")
        created = await client.post("/v1/plans", headers=operator, json={
            "slug": plan_slug, "name": "Quota plan", "currency": "USD", "flat_fee": "0",
            "charges": [{"model": "unit", "meter_slug": "api", "unit_price": "0.01"}]})
        assert created.status_code == 201, created.text
        async with pg.begin() as conn:  # subscribed directly: each API call would count against the quota
            plan_id = (await conn.execute(select(plan.c.id).where(plan.c.slug == plan_slug))).scalar_one()
            await conn.execute(insert(subscription).values(tenant_id=uuid.UUID(registration["tenant"]["id"]),
                                                           plan_id=plan_id))
        await wait_for_a_fresh_minute_if_close_to_its_end()
        statuses = [(await client.get("/v1/meters", headers=owner)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


# ---------------------------------------------------------------- the running API process


def test_the_running_api_answers_429_by_the_30th_wrong_password(api_service: Settings):
    """The acceptance check as a user would meet it: the served API, default per-account limit."""
    base = f"http://127.0.0.1:{api_service.api.port}"
    tenant_slug = slug()
    registered = httpx.post(f"{base}/v1/tenants", timeout=30, json={
        "slug": tenant_slug, "name": tenant_slug, "owner_email": f"owner@{tenant_slug}.example", "owner_password": PASSWORD})
    assert registered.status_code == 201, registered.text
    statuses = []
    for attempt in range(30):
        response = httpx.post(f"{base}/v1/auth/login", timeout=30,
                              json={"email": f"owner@{tenant_slug}.example", "password": f"wrong {attempt}"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}, statuses
