"""A hard limit reached makes the real ingest service answer 429 for that meter's events,
until a plan change (seen within the block cache's seconds) or the period's end."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import insert

from billing_jobs.plans import Plan
from flows.limits import check_limits
from meterline.bootstrap import pg_engine
from tests.support.tenants import create_tenant
from warehouse.postgres.billing_limits import blocked_event_types
from warehouse.postgres.plans import cancel_subscription, get_plan, insert_plan, insert_subscription
from warehouse.postgres.tables import usage_hourly

pytestmark = pytest.mark.integration

NOW = datetime.now(timezone.utc)
PERIOD_START = NOW.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def event(event_type: str) -> dict:
    return {"specversion": "1.0", "id": uuid.uuid4().hex, "source": "test", "type": event_type,
            "subject": "customer-1", "time": NOW.isoformat(), "data": {"bytes": 1}}


async def post(settings, key: str, events: list[dict]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest.port}", timeout=10) as client:
        return await client.post("/v1/events", json=events, headers={"Authorization": f"Bearer {key}"})


async def test_hard_limit_answers_429_until_plan_change(ingest_service, unique_slug):
    settings = ingest_service
    tenant = await create_tenant(settings, unique_slug, meters=[("api-calls", "api.call", "COUNT", None),
                                                                ("storage", "storage.used", "SUM", "bytes")])
    capped = Plan.model_validate({"slug": f"cap-{unique_slug}", "name": "Capped", "currency": "USD",
                                  "limits": [{"meter_slug": "api-calls", "quantity": "10", "kind": "hard"}]})
    roomy = Plan.model_validate({"slug": f"roomy-{unique_slug}", "name": "Roomy", "currency": "USD"})
    engine = pg_engine(settings)
    async with engine.begin() as conn:
        for plan in (capped, roomy):
            await insert_plan(conn, plan)
        capped_id, _ = await get_plan(conn, capped.slug)
        await insert_subscription(conn, tenant.id, capped_id, started_at=PERIOD_START)
        tconn = await conn.execution_options(schema_translate_map={"tenant": tenant.schema_name})
        await tconn.execute(insert(usage_hourly).values(meter_slug="api-calls", window_start=PERIOD_START,
                                                        quantity=Decimal(10), event_count=10))

    # Under the limit until the flow records the block: accepted.
    assert (await post(settings, tenant.api_key, [event("api.call")])).status_code == 202
    assert check_limits(now=NOW, tenant_id=str(tenant.id))["tenants"][str(tenant.id)]["blocked"] == ["api-calls"]
    await asyncio.sleep(settings.ingest.meter_block_cache_ttl_s + 0.5)

    refused = await post(settings, tenant.api_key, [event("storage.used"), event("api.call")])
    assert refused.status_code == 429, refused.text
    error = refused.json()["error"]
    assert error["code"] == "meter_limit_reached" and "api-calls" in error["message"]
    [detail] = error["details"]
    assert (detail["index"], detail["field"]) == (1, "type") and "api-calls" in detail["reason"]
    assert int(refused.headers["Retry-After"]) > 0
    # Other meters' events still flow.
    assert (await post(settings, tenant.api_key, [event("storage.used")])).status_code == 202

    # The next period lifts the block by itself (asked of PostgreSQL as of then).
    async with engine.connect() as conn:
        assert set(await blocked_event_types(conn, tenant.id, NOW)) == {"api.call"}
        next_period = (PERIOD_START + timedelta(days=32)).replace(day=1)
        assert await blocked_event_types(conn, tenant.id, next_period) == {}

    # A plan change lifts it at once (within the cache's seconds).
    async with engine.begin() as conn:
        await cancel_subscription(conn, tenant.id, datetime.now(timezone.utc))
        roomy_id, _ = await get_plan(conn, roomy.slug)
        await insert_subscription(conn, tenant.id, roomy_id)
    await engine.dispose()
    await asyncio.sleep(settings.ingest.meter_block_cache_ttl_s + 0.5)
    assert (await post(settings, tenant.api_key, [event("api.call")])).status_code == 202
