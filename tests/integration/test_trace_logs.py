"""One grep of an event's id finds its whole path: real ingest and stream worker processes log
JSON lines, the request's trace id rides its events through Kafka, and a sampled request's
events are logged by id with that trace id at ingest and again when the stream writes them.
An unsampled request's trace id still appears in the stream's line for its batch."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from tests.support.tenants import create_tenant

pytestmark = pytest.mark.integration


def _log(settings, name: str) -> Path:
    return settings.run_dir / "services" / f"{name}.log"


def _lines_since(path: Path, offset: int) -> list[dict]:
    with path.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode()
    # Every line one JSON object: a line that is not is a failure here, not skipped.
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _event(event_id: str) -> dict:
    return {"id": event_id, "source": "trace-test", "type": "api.call", "subject": "s",
            "time": datetime.now(timezone.utc).isoformat(), "data": {}}


async def test_an_events_id_and_its_trace_id_are_in_the_ingest_and_stream_logs(ingest_service, stream_worker,
                                                                                unique_slug):
    settings = ingest_service
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None)])
    offsets = {name: _log(settings, name).stat().st_size for name in ("ingest", "stream")}
    followed, unfollowed = f"followed-{uuid.uuid4()}", f"unfollowed-{uuid.uuid4()}"
    trace_id = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest.port}", timeout=30,
                                 headers={"Authorization": f"Bearer {tenant.api_key}"}) as ingest:
        sampled = await ingest.post("/v1/events", json=[_event(followed)],
                                    headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        plain = await ingest.post("/v1/events", json=[_event(unfollowed)], headers={"X-Request-ID": "req-unfollowed"})
        refused = await ingest.post("/v1/events", json=[{"id": "x"}])
    assert sampled.status_code == 202 and sampled.headers["x-request-id"] == trace_id
    assert plain.status_code == 202 and plain.headers["x-request-id"] == "req-unfollowed"
    assert refused.status_code == 422 and len(refused.headers["x-request-id"]) == 32

    def written(lines: list[dict]) -> bool:
        return any(line.get("event_id") == followed for line in lines)

    deadline = time.monotonic() + 60
    while not written(stream := _lines_since(_log(settings, "stream"), offsets["stream"])):
        assert time.monotonic() < deadline, "the stream never logged the followed event"
        await asyncio.sleep(0.5)
    ingest_lines = _lines_since(_log(settings, "ingest"), offsets["ingest"])

    # One grep of the id: its acceptance at ingest and its write by the stream, same trace id.
    at_ingest = [line for line in ingest_lines if followed in json.dumps(line)]
    at_stream = [line for line in stream if followed in json.dumps(line)]
    assert [(line["service"], line["trace_id"], line["message"]) for line in at_ingest] == [
        ("ingest", trace_id, "events accepted")]
    assert at_ingest[0]["event_ids"] == [followed] and at_ingest[0]["tenant_id"] == str(tenant.id)
    assert [(line["service"], line["trace_id"], line["message"]) for line in at_stream] == [
        ("stream", trace_id, "event written to the sinks")]
    # The unsampled request: no line per event, but its trace id in its batch's line.
    deadline = time.monotonic() + 60
    while not any("req-unfollowed" in line.get("trace_ids", ())
                  for line in _lines_since(_log(settings, "stream"), offsets["stream"])):
        assert time.monotonic() < deadline, "no batch line named the unsampled request's trace id"
        await asyncio.sleep(0.5)
    everything = ingest_lines + _lines_since(_log(settings, "stream"), offsets["stream"])
    assert not [line for line in everything if unfollowed in json.dumps(line)]
    assert all({"timestamp", "level", "logger", "message", "service", "trace_id"} <= set(line) for line in everything)
