"""The admin API in-process (ASGI) over the real PostgreSQL and localstripe, for the people,
sessions and role-table tests: registering tenants, signing users in, reading errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from meterline.settings import Settings

__all__ = ["PASSWORD", "Clock", "asgi_client", "register", "registered_owner", "bearer", "assert_error",
           "add_user", "login", "signed_in", "outbox", "audit_actions"]

PASSWORD = "correct horse battery"


@dataclass
class Clock:
    """The API's clock for a test module (its `get_now` dependencies): the real time unless a
    test sets `now`."""

    now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or datetime.now(timezone.utc)


@asynccontextmanager
async def asgi_client(settings: Settings, overrides: Mapping[Callable, Callable] | None = None,
                      ) -> AsyncIterator[httpx.AsyncClient]:
    """The admin API app, its lifespan run, behind an httpx client; `overrides` replace
    dependencies (a test's clock, a usage reader). The app is on `client.app`."""
    from meterline.bootstrap import api_app

    application = api_app(settings)
    application.dependency_overrides.update(overrides or {})
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://api.test") as client:
            client.app = application  # type: ignore[attr-defined]  # the role-table walk reads its routes
            yield client


async def register(client: httpx.AsyncClient, slug: str | None = None, email: str | None = None) -> dict:
    """A new tenant through the API, as its owner would: the registration's JSON."""
    slug = slug or "t" + uuid.uuid4().hex[:10]
    response = await client.post("/v1/tenants", json={
        "slug": slug, "name": f"Tenant {slug}", "owner_email": email or f"owner@{slug}.example",
        "owner_password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()


async def registered_owner(client: httpx.AsyncClient) -> tuple[str, str, dict[str, str]]:
    """A new tenant: (its id, its slug, its owner's headers)."""
    body = await register(client)
    return body["tenant"]["id"], body["tenant"]["slug"], bearer(body)


def bearer(token: str | dict) -> dict[str, str]:
    if isinstance(token, dict):
        token = token["access_token"]["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def add_user(engine: AsyncEngine, tenant_id: str, role: str) -> str:
    """Another user of a tenant with `role`, inserted directly (test_people.py goes through
    invitations): its email; its password is PASSWORD."""
    from api.auth import hash_password
    from warehouse.postgres.tables import app_user

    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    async with engine.begin() as conn:
        await conn.execute(insert(app_user).values(tenant_id=uuid.UUID(tenant_id), email=email,
                                                   password_hash=hash_password(PASSWORD), role=role))
    return email


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


async def signed_in(client: httpx.AsyncClient, engine: AsyncEngine, tenant_id: str, role: str) -> dict[str, str]:
    """A new user of the tenant with `role`, signed in through the API: its headers."""
    response = await login(client, await add_user(engine, tenant_id, role))
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error


async def outbox(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict]:
    response = await client.get("/v1/notifications/outbox", headers=headers, params={"channel": "email"})
    assert response.status_code == 200, response.text
    return response.json()


async def audit_actions(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict]:
    response = await client.get("/v1/audit", headers=headers, params={"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["entries"]
