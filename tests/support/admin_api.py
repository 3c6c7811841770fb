"""The admin API in-process (ASGI) over the real PostgreSQL and localstripe, for the people,
sessions and role-table tests: registering tenants, signing users in, reading errors."""

from __future__ import annotations

import uuid

import httpx

__all__ = ["PASSWORD", "register", "bearer", "assert_error", "outbox", "audit_actions"]

PASSWORD = "correct horse battery"


async def register(client: httpx.AsyncClient) -> dict:
    slug = "t" + uuid.uuid4().hex[:10]
    response = await client.post("/v1/tenants", json={
        "slug": slug, "name": f"Tenant {slug}", "owner_email": f"owner@{slug}.example", "owner_password": PASSWORD})
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: str | dict) -> dict[str, str]:
    if isinstance(token, dict):
        token = token["access_token"]["access_token"]
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
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
