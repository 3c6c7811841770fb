"""The operators' pipeline view (GET /v1/operator/analytics/pipeline, pipeline.read: SREs)
against the real stack: events pushed through ingest and applied by the stream show in the
ingest rate, the lag per partition is Kafka's and the stream's, an event the stream
dead-letters is counted, and a store that is down makes only its own section unavailable."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import httpx
import pytest
from asgi_lifespan import LifespanManager

from meterline.bootstrap import api_app
from meterline.settings import Settings
from tests.support.operators import operator_headers

pytestmark = pytest.mark.integration

PATH = "/v1/operator/analytics/pipeline"


@pytest.fixture(scope="module")
async def client(stack: Settings, stream_worker, ingest_service, flows_service) -> AsyncIterator[httpx.AsyncClient]:
    application = api_app(stack)
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://api.test",
                                     timeout=30) as http:
            yield http


async def _tenant_with_a_sum_meter(client: httpx.AsyncClient) -> tuple[dict, str]:
    slug = "p" + uuid.uuid4().hex[:10]
    created = await client.post("/v1/tenants", json={"slug": slug, "name": slug, "owner_email": f"o@{slug}.example",
                                                     "owner_password": "pipeline-" + uuid.uuid4().hex})
    assert created.status_code == 201, created.text
    body = created.json()
    auth = {"Authorization": f"Bearer {body['access_token']['access_token']}"}
    meter = await client.post("/v1/meters", headers=auth, json={
        "slug": "tokens", "event_type": "llm.completion", "aggregation": "SUM", "value_path": "tokens"})
    assert meter.status_code == 201, meter.text
    return auth, body["api_key"]["key"]


def _events(count: int, tokens) -> list[dict]:
    now = datetime.now(timezone.utc).isoformat()
    return [{"specversion": "1.0", "id": uuid.uuid4().hex, "source": "pipeline-test", "type": "llm.completion",
             "subject": "s", "time": now, "data": {"tokens": tokens}} for _ in range(count)]


async def _until(client, headers, ready, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        answer = await client.get(PATH, headers=headers)
        assert answer.status_code == 200, answer.text
        if ready(body := answer.json()) or time.monotonic() > deadline:
            return body
        time.sleep(0.5)


async def test_the_pipeline_shows_ingest_lag_dead_letters_and_flow_runs(client, stack: Settings):
    sre = await operator_headers(client, stack, "sre")
    finance = await operator_headers(client, stack, "finance")
    assert (await client.get(PATH, headers=finance)).status_code == 403  # finance's role has no pipeline.read
    before = (await client.get(PATH, headers=sre)).json()
    counted_before = sum(m["events"] for m in before["ingest_per_minute"])
    auth, key = await _tenant_with_a_sum_meter(client)
    with httpx.Client(base_url=f"http://127.0.0.1:{stack.ingest.port}", timeout=30) as ingest:
        # 40 countable events and one whose value is not a number: the stream dead-letters it.
        accepted = ingest.post("/v1/events", json=_events(40, "12.5") + _events(1, "lots"),
                               headers={"Authorization": f"Bearer {key}"})
    assert accepted.status_code == 202, accepted.text

    def settled(body: dict) -> bool:
        return (sum(m["events"] for m in body["ingest_per_minute"]) >= counted_before + 40
                and all(p["lag_records"] == 0 for p in body["lag"]) and body["dead_letters_last_hour"] >= 1)

    health = await _until(client, sre, settled)
    assert health["unavailable"] == {}, health["unavailable"]
    assert settled(health), health
    assert sorted(p["partition"] for p in health["lag"]) == list(range(stack.kafka.events_partitions))
    assert all(p["end_offset"] == p["committed_offset"] and p["lag_seconds"] == 0 for p in health["lag"])
    dead = (await client.get("/v1/stream/dead-letters", headers=auth)).json()
    assert len(dead) == 1 and health["dead_letters_last_day"] >= health["dead_letters_last_hour"] >= 1
    assert isinstance(health["flow_runs"], list)
    assert all(run["ui_url"].startswith(stack.prefect_api_url.removesuffix("/api")) for run in health["flow_runs"])


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_store_that_is_down_makes_only_its_section_unavailable(stack: Settings):
    broken = stack.model_copy(deep=True)
    broken.prefect.port = _closed_port()  # nothing listens there
    broken.kafka.port = _closed_port()
    application = api_app(broken)
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://api.test",
                                     timeout=30) as http:
            sre = await operator_headers(http, stack, "sre")
            started = time.monotonic()
            answer = await http.get(PATH, headers=sre)
            elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    health = answer.json()
    assert set(health["unavailable"]) == {"lag", "flow_runs"}, health["unavailable"]
    assert health["lag"] is None and health["flow_runs"] is None
    assert isinstance(health["ingest_per_minute"], list) and isinstance(health["dead_letters_last_hour"], int)
    assert elapsed < 10, f"sections are read side by side, each within its time limit: {elapsed:.1f}s"
