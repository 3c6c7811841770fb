"""A tenant's own limit-alert thresholds against the real stack: the admin API reads and sets
them (roles from api/permissions.py, each bad value named with its reason), and the
check-limits Prefect flow on real PostgreSQL alerts at the tenant's percents."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager

from flows.limits import check_limits
from meterline.bootstrap import api_app
from tests.integration.test_limits_alerts import NOW, recorded, subscribed_tenant
from tests.support.admin_api import assert_error, audit_actions, bearer, register
from tests.support.tenants import signed_in_user

pytestmark = pytest.mark.integration

PATH = "/v1/notifications/thresholds"


async def test_everyone_reads_admins_change_and_each_tenant_has_its_own(admin_api, stack):
    owner = await register(admin_api)
    other = await register(admin_api)
    tenant_id = uuid.UUID(owner["tenant"]["id"])
    viewer = bearer(await signed_in_user(stack, tenant_id, "viewer"))
    manager = bearer(await signed_in_user(stack, tenant_id, "manager"))
    admin = bearer(await signed_in_user(stack, tenant_id, "admin"))

    shown = await admin_api.get(PATH, headers=viewer)
    assert shown.status_code == 200, shown.text
    assert shown.json() == {"percents": [80, 100], "custom": False, "default_percents": [80, 100],
                            "min_percent": 1, "max_percent": 1000, "max_count": 10}
    for role in (viewer, manager):
        assert_error(await admin_api.put(PATH, json={"percents": [50]}, headers=role), 403)
    saved = await admin_api.put(PATH, json={"percents": [150, 50, 90]}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["percents"], saved.json()["custom"]) == ([50, 90, 150], True)
    assert (await admin_api.get(PATH, headers=viewer)).json()["percents"] == [50, 90, 150]
    # Another tenant keeps the default.
    assert (await admin_api.get(PATH, headers=bearer(other))).json()["percents"] == [80, 100]
    changes = [e for e in await audit_actions(admin_api, bearer(owner)) if e["action"] == "alert_thresholds.changed"]
    assert [e["details"] for e in changes] == [{"percents": [50, 90, 150]}]

    # null: back to the platform's default.
    reset = await admin_api.put(PATH, json={"percents": None}, headers=bearer(owner))
    assert reset.json() == {**shown.json(), "custom": False}


@pytest.mark.parametrize(("percents", "status", "fields"), [
    ([], 422, {"percents": "give at least one threshold"}),
    ([0, 50], 422, {"percents.0": "must be between 1 and 1000 percent"}),
    ([50, 1001], 422, {"percents.1": "must be between 1 and 1000 percent"}),
    ([80, 90, 80], 422, {"percents.2": "80 is already at position 0"}),
    (list(range(1, 12)), 422, {"percents": "at most 10 thresholds"}),
    ([80, 12.5], 422, {"percents.1": None}),
    ([80, "90"], 422, {"percents.1": None}),
    ([True], 422, {"percents.0": None}),
    (list(range(101)), 422, {"percents": None}),
], ids=["empty", "zero", "above-1000", "duplicate", "eleven", "fraction", "string", "boolean", "huge-list"])
async def test_bad_thresholds_are_named_with_their_reason(admin_api, percents, status, fields):
    owner = await register(admin_api)
    refused = await admin_api.put(PATH, json={"percents": percents}, headers=bearer(owner))
    error = assert_error(refused, status)
    reasons = {d["field"]: d["reason"] for d in error["details"]}
    assert set(reasons) == set(fields), error
    for field, reason in fields.items():
        if reason is not None:
            assert reasons[field] == reason
    # Nothing was stored.
    assert (await admin_api.get(PATH, headers=bearer(owner))).json()["custom"] is False


async def _set_thresholds(stack, tenant_id, percents) -> None:
    app = api_app(stack)
    admin = bearer(await signed_in_user(stack, tenant_id, "admin"))
    async with LifespanManager(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                       base_url="http://api.test") as client:
        saved = await client.put(PATH, json={"percents": percents}, headers=admin)
        assert saved.status_code == 200, saved.text


async def test_the_limit_check_alerts_at_the_tenants_own_percent(stack, unique_slug, monkeypatch):
    monkeypatch.delenv("METERLINE_SMTP__HOST", raising=False)
    limits = [{"meter_slug": "api-calls", "quantity": "100", "kind": "soft"}]
    custom = await subscribed_tenant(stack, unique_slug, limits, {"api-calls": "55"})
    default = await subscribed_tenant(stack, unique_slug + "d", limits, {"api-calls": "55"})
    await _set_thresholds(stack, custom.id, [50, 150])

    # 55 of 100: the tenant's 50% fires; the default's 80% is not reached for the other tenant.
    first = check_limits(now=NOW, tenant_id=str(custom.id))
    assert first["tenants"][str(custom.id)]["alerts"] == ["api-calls:soft:50"]
    assert check_limits(now=NOW, tenant_id=str(default.id))["tenants"][str(default.id)]["alerts"] == []
    alerts, _, outbox = recorded(stack, custom.id)
    assert alerts == {("api-calls", "soft", 50)} and outbox == [("email", False)]
    assert recorded(stack, default.id)[0] == set()

    # Once per period: the next run records nothing new.
    again = check_limits(now=NOW + timedelta(minutes=5), tenant_id=str(custom.id))
    assert again["tenants"][str(custom.id)]["alerts"] == []

    # Back to the default: 80 is not reached at 55, and the 50 already sent stays recorded.
    await _set_thresholds(stack, custom.id, None)
    after = check_limits(now=NOW + timedelta(minutes=10), tenant_id=str(custom.id))
    assert after["tenants"][str(custom.id)]["alerts"] == []
    assert recorded(stack, custom.id)[0] == {("api-calls", "soft", 50)}
