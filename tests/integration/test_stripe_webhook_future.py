"""Stripe webhooks signed with a timestamp beyond the tolerance IN THE FUTURE are refused,
like stale ones (the SDK refuses only the stale). Through the whole admin app, real PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from meterline.bootstrap import api_app
from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from warehouse.postgres.billing_tables import billing_webhook_event

pytestmark = pytest.mark.integration


def sign(body: bytes, secret: str, at: int) -> str:
    return f"t={at},v1={hmac.new(secret.encode(), b'%d.%s' % (at, body), hashlib.sha256).hexdigest()}"


@pytest.fixture(scope="module")
async def client(stack: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = api_app(stack)
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://api.test") as http:
            yield http


async def recorded(stack: Settings, event_id: str) -> int:
    engine = pg_engine(stack)
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).where(billing_webhook_event.c.event_id == event_id))).scalar_one()
    await engine.dispose()
    return count


@pytest.mark.parametrize("ahead_s, status", [(3600, 400), (10**9, 400), (30, 200)])
async def test_future_signatures_beyond_the_tolerance_are_refused(client, stack: Settings, ahead_s: int, status: int):
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "object": "event", "type": "customer.created", "created": int(time.time()),
                       "data": {"object": {"id": f"cus_{uuid.uuid4().hex[:8]}", "object": "customer"}}}).encode()
    signature = sign(body, stack.stripe.webhook_secret.get_secret_value(), int(time.time()) + ahead_s)
    response = await client.post("/webhooks/stripe", content=body,
                                 headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"]["code"] == "invalid_webhook"
        assert await recorded(stack, event_id) == 0
    else:  # within the tolerance (clocks drift): accepted as before
        assert response.json()["event_id"] == event_id
