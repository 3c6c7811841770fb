"""Issue 16: a worker that loses partitions mid-take stops writing them.

A backlog is taken by one worker in takes of the default size (500 records), each cut
into many small transactions; a second worker joins while the first is inside a take.
The first must finish only the transactions in flight (one per lane, stream/lanes.py),
drop the rest of its take and
write nothing more of the revoked generation; both then resume each assigned partition
at PostgreSQL's position (stream/rebalance.py). Meanwhile Kafka's committed offsets
never pass PostgreSQL's positions, and the totals end exact.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime

import httpx
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from meterline.bootstrap import pg_engine
from tests.integration.test_stream_guarantees import _metric, _produce, own_port, own_settings, own_worker
from tests.integration.test_stream_rebalance import HEARTBEAT_S, SESSION_S, _count, _wait_applies
from tests.integration.test_stream_scale_out import METERS, _assert_exact, _mixed_stream
from tests.support.tenants import create_tenant
from warehouse.postgres.usage import list_positions

pytestmark = pytest.mark.integration

# Two records per transaction: a take of 500 records is 250 transactions, seconds long.
EVENTS_PER_RECORD, EVENTS_PER_TRANSACTION = 10, 20


async def _kafka_behind_postgres(settings, stop: asyncio.Event, checks: list) -> None:
    """Until stopped: every partition's committed Kafka offset is at or below PostgreSQL's
    position. Kafka is read first; both only grow, so a later PostgreSQL read is fair."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    engine = pg_engine(settings)
    try:
        while not stop.is_set():
            committed = await admin.list_consumer_group_offsets(settings.stream.consumer_group)
            kafka = {tp.partition: meta.offset for tp, meta in committed.items()
                     if tp.topic == settings.kafka.events_topic and meta.offset >= 0}
            async with engine.connect() as conn:
                postgres = {r.partition: r.next_offset for r in await list_positions(conn, settings.stream.consumer_group)
                            if r.topic == settings.kafka.events_topic}
            checks.append((kafka, postgres))
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
        await engine.dispose()


def _log_size(worker) -> int:
    path = worker.process.log_file
    return path.stat().st_size if path.exists() else 0


def _log_lines(worker, since: int) -> list[dict]:
    """The worker's stream lines written after byte `since` (the file keeps earlier runs')."""
    lines = []
    for raw in worker.process.log_file.read_bytes()[since:].splitlines():
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(line, dict) and line.get("logger") == "meterline.stream":
            lines.append(line)
    return lines


def _after_revocation(lines: list[dict]) -> tuple[dict, list[dict], list[dict]]:
    """The first revocation of partitions, the batches written after it and the worker's
    assignments after it."""
    at = next(i for i, line in enumerate(lines)
              if line["message"].startswith("partitions revoked") and line["partitions"])
    later = lines[at + 1:]
    batches = [line for line in later if line["message"] == "batch written to the sinks"]
    assigned = [line for line in later if line["message"] == "assigned partitions resume at PostgreSQL's positions"]
    return lines[at], batches, assigned


async def test_a_worker_revoked_mid_take_drops_the_rest_and_stops_writing(stack, unique_slug):
    first = own_settings(stack, "revoked", own_port(stack, 147), session_timeout_s=SESSION_S,
                         heartbeat_interval_s=HEARTBEAT_S)
    second = first.model_copy(update={"run_dir": first.run_dir.parent / "stream-revoked-2",
                                      "stream": first.stream.model_copy(update={"web_port": own_port(stack, 148)})})
    tenants = [await create_tenant(first, f"{unique_slug}{n}", METERS) for n in range(3)]
    # Keyed tenant:subject, so every partition has records of every tenant.
    records = _mixed_stream(tenants, random.Random(46), 1500, old_keys=1500, events_per_record=EVENTS_PER_RECORD)
    one, two = own_worker(first), own_worker(second)
    for worker in (one, two):
        worker.process.env["METERLINE_STREAM__MAX_TRANSACTION_EVENTS"] = str(EVENTS_PER_TRANSACTION)
    await _produce(first, records)  # a backlog: the first take is a full one
    stop, checks = asyncio.Event(), []
    since_one, since_two = _log_size(one), _log_size(two)  # the log files keep earlier runs' lines
    await asyncio.to_thread(one.start)
    sampling = asyncio.create_task(_kafka_behind_postgres(first, stop, checks))
    try:
        await _wait_applies(one)
        await asyncio.to_thread(two.start)  # the rebalance, while the first is inside its take
        await _wait_applies(two)
        await _assert_exact(first, one, tenants, _count(records))
        stop.set()
        await sampling

        async with httpx.AsyncClient(base_url=one.url, timeout=5) as http:
            dropped = _metric((await http.get("/metrics")).text, "meterline_stream_records_dropped_total")
        assert dropped > 0, "the first worker was not inside a take at the rebalance: make the backlog larger"
        revoked, batches, assigned = _after_revocation(_log_lines(one, since_one))
        generation = revoked["generation"]
        # The old owner commits at most the transactions in flight at the revocation, one
        # per lane (stream/lanes.py)...
        assert len([b for b in batches if b["generation"] <= generation]) <= first.stream.write_lanes, batches[:3]
        # ...and afterwards writes only partitions assigned to it again, from PostgreSQL's positions.
        later = [b for b in batches if b["generation"] > generation]
        for batch in later:
            mine = next(a for a in reversed(assigned) if a["generation"] <= batch["generation"])
            assert set(batch["partitions"]) <= {int(p) for p in mine["positions"]}, (batch, mine)
        dropped_line = next(line for line in _log_lines(one, since_one)
                            if line["message"].startswith("dropped the take"))
        assert dropped_line["records"] > 0
        assert datetime.fromisoformat(dropped_line["timestamp"]) >= datetime.fromisoformat(revoked["timestamp"])
        # The new owner resumed where PostgreSQL said, not at Kafka's committed offsets.
        assert any(line["message"] == "assigned partitions resume at PostgreSQL's positions"
                   for line in _log_lines(two, since_two))
        assert len(checks) > 10
        for kafka, postgres in checks:
            assert all(offset <= postgres.get(p, 0) for p, offset in kafka.items()), (kafka, postgres)
    finally:
        stop.set()
        sampling.cancel()
        one.stop()
        two.stop()
