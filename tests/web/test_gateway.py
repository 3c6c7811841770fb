"""The gateway's own configuration (infra/nginx/, as docker-compose uses it) in Debian's nginx
in front of the embedded stack: the app, the admin API and ingest on one origin, behaving
as the API alone does, with the gateway's body limits."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import running_gateway
from tests.support.web import screenshot_dir, wait_for_totals

from .pages import en_us_quantity, shot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture(scope="module")
def gateway(app_stack, web_build):
    port = int(os.environ.get("METERLINE_TEST_GATEWAY_PORT", "28081"))
    with running_gateway(Path(app_stack.run_dir) / "gateway", port, app_stack.api.port, app_stack.ingest.port,
                         web_build) as running:
        yield running


def test_routes_limits_and_headers(gateway, tenant_with_usage, app_stack):
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        index = client.get("/usage?meter=api-calls")  # a client route: the app's page
        assert index.status_code == 200 and '<div id="root">' in index.text
        assert "script-src 'self'" in index.headers["content-security-policy"]
        script = index.text.split('src="', 1)[1].split('"', 1)[0]
        served = client.get(script, headers={"Accept-Encoding": "gzip"})
        assert served.status_code == 200 and "immutable" in served.headers["cache-control"]
        assert served.headers.get("content-encoding") == "gzip"
        assert client.get("/assets/missing.js").status_code == 404
        assert client.get("/app-config.json").json() == {"ingest_url": None, "prefect_url": None}
        # The admin API's paths and answers, unchanged.
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/v1/meters").status_code == 401
        assert client.get("/v1/no-such-route").json()["error"]["code"]
        assert client.get("/docs").status_code == 200
        # Metrics stay on the internal network: the gateway routes no service's /metrics (the
        # path is a client route of the app), while the API itself still serves it.
        public = client.get("/metrics")
        assert "# HELP" not in public.text and '<div id="root">' in public.text
        assert "# HELP" in httpx.get(f"http://127.0.0.1:{app_stack.api.port}/metrics", timeout=30).text
        assert client.get("/v1/events/recent", headers=tenant_with_usage.auth).status_code == 200  # the API's, not ingest's
        # /v1/events is ingest's.
        event = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": "gateway", "type": "api.call",
                 "subject": "via-gateway", "time": datetime.now(timezone.utc).isoformat(), "data": {"region": "eu"}}
        pushed = client.post("/v1/events", json=event, headers={"Authorization": f"Bearer {tenant_with_usage.api_key}"})
        assert pushed.status_code == 202, pushed.text
        tenant_with_usage.sent["api-calls"] += 1
        # Body limits: 1 MiB for the API, 5 MiB for ingest, refused by the gateway itself.
        too_big = client.post("/v1/meters", content=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"})
        assert too_big.status_code == 413 and "<html>" in too_big.text  # nginx's page: the API never saw it
        bulk = client.post("/v1/events", content=b"[" + b" " * (2 * 1024 * 1024) + b"]",
                           headers={"Content-Type": "application/json", "Authorization": f"Bearer {tenant_with_usage.api_key}"})
        assert bulk.status_code != 413  # within ingest's limit: ingest itself answers
    assert "emerg" not in gateway.log()


def test_the_app_through_the_gateway_shows_the_apis_numbers(page, gateway, api, tenant_with_usage, app_stack):
    now = datetime.now(timezone.utc)
    answer = wait_for_totals(api, tenant_with_usage, {
        "from": now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).isoformat(), "window": "month"})
    sign_in(page, gateway.url, tenant_with_usage)
    for total in answer["totals"]:
        page.get_by_test_id(f"usage-{total['meter']}").filter(has_text=en_us_quantity(total["quantity"])).wait_for()
    page.get_by_role("link", name="Developers").click()
    # Behind the gateway, ingest is this origin's /v1/events.
    assert page.get_by_test_id("ingest-endpoint").text_content() == f"{gateway.url}/v1/events"
    page.get_by_test_id("events").wait_for()
    shot(page, screenshot_dir(app_stack), "developers-through-gateway")
