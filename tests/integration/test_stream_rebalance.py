"""Several workers share the partitions: rebalances lose and double-count nothing.

Two `meterline serve stream` processes in one consumer group (distinct web ports) on the
real broker, PostgreSQL and the embedded-ClickHouse host. A stream of events from three
tenants (duplicates within and across records, hence across partitions; late events
up to weeks old) keeps flowing while the second worker joins (a rebalance), the first
leaves with SIGTERM (another), comes back (another) and the second dies with SIGKILL
(the last: its partitions move after the session timeout). Totals in PostgreSQL, in
ClickHouse's rollups and in its raw events must then equal the test's own count of
distinct events sent.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from decimal import Decimal

import httpx
import orjson
import pytest

from tests.integration.test_stream_guarantees import (
    NOW, _ch_usage, _event_totals, _metric, _pack, _pg_total, _produce, _wait_pg, own_port, own_settings, own_worker,
)
from tests.support.tenants import create_tenant

pytestmark = pytest.mark.integration

# Short sessions: a SIGKILLed worker's partitions move after this, not the default 10 s.
SESSION_S, HEARTBEAT_S = 6.0, 2.0  # the broker refuses sessions under 6 s (group.min.session.timeout.ms)


def _stream(tenants, rng: random.Random, records: int):
    """Records (key, pack); what is counted is decided by `_count` over those produced."""
    sent = {t.id: {} for t in tenants}
    ids = {t.id: [] for t in tenants}
    out = []
    for n in range(records):
        tenant = tenants[n % len(tenants)]
        events = []
        for i in range(15):
            known = sent[tenant.id]
            if known and rng.random() < 0.15:  # a copy of an event already sent, maybe on another partition
                event_id = rng.choice(ids[tenant.id])
                kind, value, at = known[event_id]
            else:
                event_id, kind = f"e{n}-{i}", rng.choice(["api.call", "llm.tokens"])
                value = Decimal(rng.randint(1, 999)) / 10
                # Mostly now, some late: hours or weeks back (inside the dedup horizon).
                late = rng.random() < 0.2
                at = NOW - (timedelta(days=rng.randint(1, 30)) if late else timedelta(minutes=rng.randint(0, 90)))
                # A copy is a resend of the same event, time included: copies with different
                # times can leave two raw rows after a SIGKILL replay (stream/README.md, "Not
                # done yet"), an edge of the raw table unrelated to rebalancing.
                known[event_id] = (kind, value, at)
                ids[tenant.id].append(event_id)
            events.append({"id": event_id, "type": kind, "time": at.isoformat(),
                           "data": {"usage": {"tokens": float(value)}}})
        subject = f"s{rng.randint(0, 50)}"  # keys spread records over every partition
        out.append((f"{tenant.id}:{subject}".encode(), _pack(tenant.id, subject, events)))
    return out


def _count(produced) -> dict:
    """The independent count, from the records actually produced: tenant -> id -> first copy."""
    sent: dict = {}
    for _, value in produced:
        pack = orjson.loads(value)
        known = sent.setdefault(pack["tenant_id"], {})
        for e in pack["events"]:
            known.setdefault(e["id"], (e["type"], Decimal(str(e["data"]["usage"]["tokens"]))))
    return sent


async def _keep_producing(settings, records, produced: list, stop: asyncio.Event, chunk: int = 8,
                          pause_s: float = 0.5) -> None:
    """Until told to stop: the stream must still flow at every rebalance, however slow the machine."""
    for i in range(0, len(records), chunk):
        if stop.is_set():
            return
        await _produce(settings, records[i:i + chunk])
        produced.extend(records[i:i + chunk])
        await asyncio.sleep(pause_s)
    raise AssertionError("ran out of records before the rebalances ended: prepare more")


async def _records_applied(worker) -> float:
    async with httpx.AsyncClient(base_url=worker.url, timeout=5) as http:
        return _metric((await http.get("/metrics")).text, "meterline_stream_records_total")


async def _wait_applies(worker, timeout_s: float = 60) -> None:
    """Until this worker has applied records of its own: it holds partitions."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await _records_applied(worker) > 0:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"{worker.url} applied nothing within {timeout_s}s")


async def test_two_workers_with_rebalances_mid_stream_count_every_event_once(stack, unique_slug):
    first = own_settings(stack, "rebalance", own_port(stack, 114), session_timeout_s=SESSION_S,
                         heartbeat_interval_s=HEARTBEAT_S)
    # Same group and topics, its own web port and run directory (pid and log files).
    second = first.model_copy(update={"run_dir": first.run_dir.parent / "stream-rebalance-2",
                                      "stream": first.stream.model_copy(update={"web_port": own_port(stack, 115)})})
    meters = [("calls", "api.call", "COUNT", None), ("tokens", "llm.tokens", "SUM", "usage.tokens")]
    tenants = [await create_tenant(first, f"{unique_slug}{n}", meters) for n in range(3)]
    records = _stream(tenants, random.Random(11), 3000)

    one, two = own_worker(first), own_worker(second)
    await _produce(first, records[:120])
    produced, stop = list(records[:120]), asyncio.Event()
    await asyncio.to_thread(one.start)
    # The rest keeps coming through every rebalance, until a few seconds after the last.
    producing = asyncio.create_task(_keep_producing(first, records[120:], produced, stop))
    try:
        await _wait_pg(first, tenants[0].schema_name, "calls", Decimal(1), timeout_s=60)
        await asyncio.to_thread(two.start)  # rebalance 1: join
        await _wait_applies(two)
        await asyncio.to_thread(one.stop)  # rebalance 2: SIGTERM, a clean leave
        await asyncio.sleep(2)
        await asyncio.to_thread(one.start)  # rebalance 3: join again
        await _wait_applies(one)
        two.kill()  # rebalance 4: SIGKILL, partitions move after the session timeout
        await asyncio.sleep(SESSION_S + 3)
        assert not producing.done(), "the stream stopped before the last rebalance"
        stop.set()
        await producing
        sent = _count(produced)

        for tenant in tenants:
            events = sent[str(tenant.id)]
            calls = sum(1 for kind, _ in events.values() if kind == "api.call")
            tokens = sum((v for kind, v in events.values() if kind == "llm.tokens"), Decimal(0))
            span = (NOW - timedelta(days=40), NOW + timedelta(days=1))
            assert await _wait_pg(first, tenant.schema_name, "calls", Decimal(calls), *span, timeout_s=120) == calls
            assert await _wait_pg(first, tenant.schema_name, "tokens", tokens, *span, timeout_s=60) == tokens
        await asyncio.sleep(2)  # a wrong extra copy would land now
        for tenant in tenants:
            events = sent[str(tenant.id)]
            calls = sum(1 for kind, _ in events.values() if kind == "api.call")
            tokens = sum((v for kind, v in events.values() if kind == "llm.tokens"), Decimal(0))
            span = (NOW - timedelta(days=40), NOW + timedelta(days=1))
            assert (await _pg_total(first, tenant.schema_name, "calls", *span)) == (calls, calls)
            assert (await _pg_total(first, tenant.schema_name, "tokens", *span))[0] == tokens
            day = NOW.replace(hour=0, minute=0)
            for slug, expected in (("calls", calls), ("tokens", tokens)):
                rollup, _, body = await _ch_usage(one, tenant.id, slug, "", "", start=day - timedelta(days=40),
                                                  end=day + timedelta(days=1), window="day")
                raw, _, raw_body = await _ch_usage(one, tenant.id, slug, "", "", start=day - timedelta(days=40),
                                                   end=day + timedelta(days=1), window="day", raw=True)
                assert body["read_from"] == "rollup:day" and raw_body["read_from"] == "raw"
                assert rollup == raw == expected, (tenant.slug, slug)
            assert await _event_totals(one, tenant.id) == {"api.call": calls, "llm.tokens": len(events) - calls}
    finally:
        stop.set()
        producing.cancel()
        one.stop()
        two.stop()
