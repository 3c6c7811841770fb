"""Issue 16: the stream scales out with bounded transactions, and stays exact.

- Three `meterline serve stream` processes join and leave one consumer group while events
  keep coming, half keyed as before issue 16 (`tenant:subject`, spread over every
  partition) and half as ingest keys them now (by tenant), with copies of one event under
  both keys (an upgrade's resend): PostgreSQL, ClickHouse's rollups and its raw events
  each equal the test's own count of distinct events.
- A catch-up over a backlog commits transactions within
  `METERLINE_STREAM__MAX_TRANSACTION_EVENTS` / `_BYTES`: each transaction's claims are
  read back from PostgreSQL itself (the `xmin` of the dedup rows it inserted).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from meterline.bootstrap import pg_engine
from tests.integration.test_stream_guarantees import (
    NOW, _ch_usage, _event_totals, _pack, _pg_total, _produce, _wait_pg, own_port, own_settings, own_worker,
)
from tests.integration.test_stream_rebalance import HEARTBEAT_S, SESSION_S, _count, _keep_producing, _wait_applies
from tests.support.tenants import create_tenant

pytestmark = pytest.mark.integration

METERS = [("calls", "api.call", "COUNT", None), ("tokens", "llm.tokens", "SUM", "usage.tokens")]


def _mixed_stream(tenants, rng: random.Random, records: int, old_keys: int, events_per_record: int = 15):
    """(key, pack) records: the first `old_keys` keyed tenant:subject (before the upgrade),
    the rest by tenant but for every 8th (an ingest replica not yet upgraded: a rolling
    upgrade); copies (15%) repeat an earlier event of the tenant, often under the other
    keying. The old keys spread over every partition, so each worker that joins has records
    of its own to apply whichever partitions the tenants' own keys hash to (six tenant keys
    leave one of three partitions without any about a quarter of the time)."""
    known = {t.id: {} for t in tenants}
    out = []
    for n in range(records):
        tenant = tenants[rng.randrange(len(tenants))]
        events = []
        for i in range(events_per_record):
            sent = known[tenant.id]
            if sent and rng.random() < 0.15:
                event_id = rng.choice(list(sent))
                kind, value, at = sent[event_id]
            else:
                event_id, kind = f"e{n}-{i}", rng.choice(["api.call", "llm.tokens"])
                value = Decimal(rng.randint(1, 999)) / 10
                late = rng.random() < 0.2
                at = NOW - (timedelta(days=rng.randint(1, 30)) if late else timedelta(minutes=rng.randint(0, 90)))
                sent[event_id] = (kind, value, at)
            events.append({"id": event_id, "type": kind, "time": at.isoformat(),
                           "data": {"usage": {"tokens": float(value)}}})
        subject = f"s{rng.randint(0, 50)}"
        key = f"{tenant.id}:{subject}" if n < old_keys or n % 8 == 0 else f"{tenant.id}"
        out.append((key.encode(), _pack(tenant.id, subject, events)))
    return out


def _expected(events: dict) -> tuple[int, Decimal]:
    calls = sum(1 for kind, _ in events.values() if kind == "api.call")
    return calls, sum((v for kind, v in events.values() if kind == "llm.tokens"), Decimal(0))


async def _assert_exact(settings, worker, tenants, sent) -> None:
    span = (NOW - timedelta(days=40), NOW + timedelta(days=1))
    for tenant in tenants:
        calls, tokens = _expected(sent[str(tenant.id)])
        assert await _wait_pg(settings, tenant.id, "calls", Decimal(calls), *span, timeout_s=120) == calls
        assert await _wait_pg(settings, tenant.id, "tokens", tokens, *span, timeout_s=60) == tokens
    await asyncio.sleep(2)  # a wrong extra copy would land now
    day = NOW.replace(hour=0, minute=0)
    for tenant in tenants:
        events = sent[str(tenant.id)]
        calls, tokens = _expected(events)
        assert (await _pg_total(settings, tenant.id, "calls", *span)) == (calls, calls)
        assert (await _pg_total(settings, tenant.id, "tokens", *span))[0] == tokens
        for slug, expected in (("calls", calls), ("tokens", tokens)):
            rollup, _, _ = await _ch_usage(worker, tenant.id, slug, "", "", start=day - timedelta(days=40),
                                           end=day + timedelta(days=1), window="day")
            raw, _, _ = await _ch_usage(worker, tenant.id, slug, "", "", start=day - timedelta(days=40),
                                        end=day + timedelta(days=1), window="day", raw=True)
            assert rollup == raw == expected, (tenant.slug, slug)
        assert await _event_totals(worker, tenant.id) == {"api.call": calls, "llm.tokens": len(events) - calls}


async def test_three_workers_joining_and_leaving_mid_stream_count_every_event_once(stack, unique_slug):
    first = own_settings(stack, "scale3", own_port(stack, 141), session_timeout_s=SESSION_S,
                         heartbeat_interval_s=HEARTBEAT_S)
    others = [first.model_copy(update={"run_dir": first.run_dir.parent / f"stream-scale3-{n}",
                                       "stream": first.stream.model_copy(update={"web_port": own_port(stack, 141 + n)})})
              for n in (1, 2)]
    tenants = [await create_tenant(first, f"{unique_slug}{n}", METERS) for n in range(6)]
    records = _mixed_stream(tenants, random.Random(16), 4000, old_keys=250)
    one, two, three = own_worker(first), *(own_worker(s) for s in others)

    await _produce(first, records[:100])
    produced, stop = list(records[:100]), asyncio.Event()
    await asyncio.to_thread(one.start)
    producing = asyncio.create_task(_keep_producing(first, records[100:], produced, stop, chunk=6, pause_s=0.3))
    try:
        await _wait_applies(one)
        # Two join, one right after the other (not started at once: a readiness probe's
        # ephemeral source port can take the other's web port, which is in that range).
        await asyncio.to_thread(two.start)
        await asyncio.to_thread(three.start)
        await asyncio.gather(_wait_applies(two), _wait_applies(three))
        await asyncio.to_thread(one.stop)  # a clean leave (SIGTERM)
        three.kill()  # and a death at the same time: its partitions move after the session
        await asyncio.sleep(SESSION_S + 2)
        await asyncio.to_thread(one.start)  # rejoins
        await asyncio.to_thread(three.start)  # and the dead one comes back
        await asyncio.gather(_wait_applies(one), _wait_applies(three))
        await asyncio.to_thread(two.stop)
        await asyncio.sleep(3)
        assert not producing.done(), "the stream stopped before the last rebalance"
        stop.set()
        await producing
        sent = _count(produced)
        assert len(produced) > 200 and any(b":" in k for k, _ in produced) and any(b":" not in k for k, _ in produced)
        await _assert_exact(first, one, tenants, sent)
    finally:
        stop.set()
        producing.cancel()
        for worker in (one, two, three):
            worker.stop()


async def _events_per_transaction(settings, tenants) -> list[int]:
    """Dedup rows each transaction inserted (their xmin), over the tenants' records."""
    engine = pg_engine(settings)
    counts: Counter = Counter()
    try:
        async with engine.connect() as conn:
            for tenant in tenants:
                rows = await conn.execute(text(
                    f'SELECT xmin::text, count(*) FROM "{tenant.schema_name}".processed_event GROUP BY 1'))
                counts.update({xid: n for xid, n in rows})
    finally:
        await engine.dispose()
    return sorted(counts.values())


@pytest.mark.parametrize("bound", ["events", "bytes"])
async def test_catch_up_transactions_stay_within_the_setting(stack, unique_slug, bound):
    tenants = [await create_tenant(stack, f"{unique_slug}{n}", METERS) for n in range(2)]
    records = _mixed_stream(tenants, random.Random(5), 240, old_keys=120, events_per_record=10)
    # Events bound: 45 events (4 records of 10 at most). Bytes bound: 3 records' bytes.
    limits = {"max_transaction_events": 45} if bound == "events" else \
        {"max_transaction_bytes": 3 * max(len(v) for _, v in records)}
    settings = own_settings(stack, f"catchup-{bound}", own_port(stack, 144 if bound == "events" else 145), **limits)
    worker = own_worker(settings)
    for name, value in limits.items():
        worker.process.env[f"METERLINE_STREAM__{name.upper()}"] = str(value)
    await _produce(settings, records)  # the whole backlog before the worker starts
    await asyncio.to_thread(worker.start)
    try:
        await _assert_exact(settings, worker, tenants, _count(records))
        per_transaction = await _events_per_transaction(settings, tenants)
        cap = 45 if bound == "events" else 3 * 10
        assert sum(per_transaction) == sum(len(events) for events in _count(records).values())
        assert max(per_transaction) <= cap, per_transaction
        # Many transactions, most of them near the bound (2,400 events, ~15% copies): not one per take.
        assert len(per_transaction) >= sum(per_transaction) // cap, per_transaction
        assert max(per_transaction) >= cap * 0.6, per_transaction
    finally:
        worker.stop()
