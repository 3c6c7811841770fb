"""Limit alerts end to end: the check-limits Prefect flow on real PostgreSQL, delivering to a
real HTTP receiver (signed webhooks, retried after a 500), a real SMTP server (aiosmtpd),
or the outbox the admin API serves when SMTP is unset. Reruns send nothing new."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import insert, select

from meterline.bootstrap import api_app
from billing_jobs.plans import Plan
from billing_jobs.webhook_signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from flows.limits import check_limits
from meterline.bootstrap import pg_engine, pg_sync_engine
from meterline.bootstrap import flow_wiring
from tests.support.receivers import smtp_server, webhook_receiver
from tests.support.tenants import create_tenant, signed_in_user
from warehouse.postgres.billing_tables import billing_limit_alert, billing_limit_block, billing_outbox
from warehouse.postgres.billing_notify import set_target
from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription
from warehouse.postgres.tables import usage_hourly

pytestmark = pytest.mark.integration

NOW = datetime.now(timezone.utc).replace(microsecond=0)
PERIOD_START = NOW.replace(day=1, hour=0, minute=0, second=0)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    # The retry policy is the real one; only its pauses are shortened for the test.
    monkeypatch.setenv("METERLINE_NOTIFY__WEBHOOK_BACKOFF_INITIAL_S", "0.05")
    monkeypatch.setenv("METERLINE_NOTIFY__WEBHOOK_BACKOFF_MAX_S", "0.2")
    flow_wiring.cache_clear()
    yield
    flow_wiring.cache_clear()


async def subscribed_tenant(stack, slug: str, limits: list[dict], usage: dict[str, str],
                            webhook: tuple[str, str] | None = None):
    tenant = await create_tenant(stack, slug, meters=[("api-calls", "api.call", "COUNT", None)])
    plan = Plan.model_validate({"slug": f"lim-{slug}", "name": "Limited", "currency": "USD", "flat_fee": "10",
                                "charges": [{"model": "unit", "meter_slug": "api-calls", "unit_price": "0.01"}],
                                "limits": limits})
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant.id, plan_id, started_at=PERIOD_START)
        tconn = await conn.execution_options(schema_translate_map={"tenant": tenant.schema_name})
        for meter, quantity in usage.items():
            await tconn.execute(insert(usage_hourly).values(meter_slug=meter, window_start=PERIOD_START,
                                                            quantity=Decimal(quantity), event_count=1))
        if webhook:
            await set_target(conn, tenant.id, None, webhook[0], webhook[1])
    await engine.dispose()
    return tenant


def recorded(stack, tenant_id: uuid.UUID):
    engine = pg_sync_engine(stack)
    with engine.connect() as conn:
        alerts = {(m, k, t) for m, k, t in conn.execute(
            select(billing_limit_alert.c.meter_slug, billing_limit_alert.c.kind, billing_limit_alert.c.threshold_percent)
            .where(billing_limit_alert.c.tenant_id == tenant_id))}
        blocks = conn.execute(select(billing_limit_block.c.meter_slug).where(
            billing_limit_block.c.tenant_id == tenant_id)).scalars().all()
        outbox = conn.execute(select(billing_outbox.c.channel, billing_outbox.c.sent_at.is_not(None))
                              .where(billing_outbox.c.tenant_id == tenant_id)).all()
    engine.dispose()
    return alerts, sorted(blocks), sorted((c, bool(s)) for c, s in outbox)


async def test_alerts_signed_webhook_retried_and_email_outbox_without_smtp(stack, unique_slug, monkeypatch):
    monkeypatch.delenv("METERLINE_SMTP__HOST", raising=False)
    secret = "mlwh_test_" + unique_slug
    with webhook_receiver(statuses=[500]) as receiver:
        tenant = await subscribed_tenant(
            stack, unique_slug, [{"meter_slug": "api-calls", "quantity": "100", "kind": "soft"},
                                 {"meter_slug": "api-calls", "quantity": "200", "kind": "hard"}],
            {"api-calls": "210"}, webhook=(receiver.url, secret))
        result = check_limits(now=NOW, tenant_id=str(tenant.id))
        assert sorted(result["tenants"][str(tenant.id)]["alerts"]) == [
            "api-calls:hard:100", "api-calls:hard:80", "api-calls:soft:100", "api-calls:soft:80"]

        # Four alerts -> four webhooks; the first POST got a 500 and was retried.
        assert [d.status for d in receiver.deliveries] == [500, 200, 200, 200, 200]
        for delivery in receiver.deliveries:
            assert verify(secret, delivery.headers[SIGNATURE_HEADER], delivery.body, int(time.time()))
            assert not verify("wrong-secret", delivery.headers[SIGNATURE_HEADER], delivery.body, int(time.time()))
        assert receiver.deliveries[0].headers[EVENT_ID_HEADER] == receiver.deliveries[1].headers[EVENT_ID_HEADER]
        bodies = [orjson.loads(d.body) for d in receiver.deliveries if d.status == 200]
        assert {(b["limit_kind"], b["threshold_percent"], b["blocked"]) for b in bodies} == {
            ("soft", 80, False), ("soft", 100, False), ("hard", 80, True), ("hard", 100, True)}  # 210 >= 200: blocked already
        assert {b["quantity"] for b in bodies} == {"210"}

        alerts, blocks, outbox = recorded(stack, tenant.id)
        assert len(alerts) == 4 and blocks == ["api-calls"]
        # No SMTP: the emails wait in the outbox; the webhooks are marked sent.
        assert outbox == [("email", False)] * 4 + [("webhook", True)] * 4

        # A rerun (the schedule fires again) sends and records nothing new.
        again = check_limits(now=NOW + timedelta(minutes=5), tenant_id=str(tenant.id))
        assert again["tenants"][str(tenant.id)]["alerts"] == []
        assert len(receiver.deliveries) == 5
        assert recorded(stack, tenant.id) == (alerts, blocks, outbox)

    # A member reads the emails through the admin API.
    app = api_app(stack)
    token = await signed_in_user(stack, tenant.id, "member")
    async with LifespanManager(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                       base_url="http://api.test") as client:
        answer = await client.get("/v1/notifications/outbox", params={"channel": "email"},
                                  headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        messages = answer.json()
        assert len(messages) == 4 and all(m["sent_at"] is None for m in messages)
        assert {m["recipient"] for m in messages} == {f"owner@{unique_slug}.test"}
        assert any("refused until" in m["subject"] for m in messages)
        # Setting the target takes a manager.
        refused = await client.put("/v1/notifications/target", json={"webhook_url": "http://127.0.0.1:9/x"},
                                   headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403


async def test_alert_email_over_smtp(stack, unique_slug, monkeypatch):
    with smtp_server() as (port, messages):
        monkeypatch.setenv("METERLINE_SMTP__HOST", "127.0.0.1")
        monkeypatch.setenv("METERLINE_SMTP__PORT", str(port))
        flow_wiring.cache_clear()
        tenant = await subscribed_tenant(stack, unique_slug, [{"meter_slug": "api-calls", "quantity": "100",
                                                               "kind": "soft"}], {"api-calls": "85"})
        check_limits(now=NOW, tenant_id=str(tenant.id))
        mine = [m for m in messages if m.rcpt_tos == [f"owner@{unique_slug}.test"]]
        assert len(mine) == 1
        text = mine[0].content.decode()
        assert "api-calls reached 80% of its soft limit (85 of 100)" in text.replace("\r\n ", " ")
        assert recorded(stack, tenant.id)[2] == [("email", True)]

        check_limits(now=NOW + timedelta(minutes=5), tenant_id=str(tenant.id))
        assert len([m for m in messages if m.rcpt_tos == [f"owner@{unique_slug}.test"]]) == 1
