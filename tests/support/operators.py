"""Operator accounts for tests: created through the bootstrap token, signed in through the API.

`operator_headers(client, settings, "finance")` (async, over any httpx.AsyncClient of the
admin API) and `operator_headers_sync(base_url, settings, ...)` (a running API) return the
Authorization header of a fresh operator of that role. Each call makes a new account.
"""

from __future__ import annotations

import uuid

import httpx

from meterline.settings import Settings

__all__ = ["OPERATOR_PASSWORD", "bootstrap_headers", "new_operator_body", "operator_headers", "operator_headers_sync"]

OPERATOR_PASSWORD = "operator-" + uuid.uuid4().hex  # long and random: passes the strength rule


def bootstrap_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.api.operator_token.get_secret_value()}"}


def new_operator_body(role: str) -> dict[str, str]:
    return {"email": f"{role}-{uuid.uuid4().hex[:10]}@operators.test", "password": OPERATOR_PASSWORD, "role": role}


def _headers(login: httpx.Response) -> dict[str, str]:
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def operator_headers(client: httpx.AsyncClient, settings: Settings, role: str = "finance") -> dict[str, str]:
    body = new_operator_body(role)
    created = await client.post("/v1/operator/accounts", headers=bootstrap_headers(settings), json=body)
    assert created.status_code == 201, created.text
    return _headers(await client.post("/v1/operator/auth/login",
                                      json={"email": body["email"], "password": body["password"]}))


def operator_headers_sync(base_url: str, settings: Settings, role: str = "finance") -> dict[str, str]:
    body = new_operator_body(role)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        created = client.post("/v1/operator/accounts", headers=bootstrap_headers(settings), json=body)
        assert created.status_code == 201, created.text
        return _headers(client.post("/v1/operator/auth/login",
                                    json={"email": body["email"], "password": body["password"]}))
