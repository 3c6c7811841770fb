"""Poison events never stall the stream (issue 11), on real Kafka, PostgreSQL and ClickHouse.

Records go straight to the topic, packed the way ingest packs them: ingest refuses these
inputs, but the stream must hold whatever reaches Kafka (old producers, other writers).
Each poison tenant's records are interleaved with another tenant's clean stream; the
clean tenant's totals must be exact within the bound (StreamSettings.poison_bound_s),
each poison must be in the dead letters with the store's reason, and the stream must
go on afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from sqlalchemy import text

from meterline.bootstrap import pg_engine
from metering import Meter
from tests.integration.test_stream_guarantees import (
    NOW, _pack, _pg_total, _produce, own_port, own_settings, own_worker,
)
from tests.support.tenants import create_tenant
from warehouse.postgres.meters import insert_meter
from warehouse.postgres.usage import duplicate_counts, list_dead_letters, list_duplicate_conflicts

pytestmark = pytest.mark.integration

CLEAN_RECORDS, CLEAN_EVENTS_PER_RECORD = 40, 10
MEASURED: dict[str, float] = {}  # poison -> seconds until the clean tenant was exact


@pytest.fixture(scope="module")
def poison_worker(stack):
    settings = own_settings(stack, "poison", own_port(stack, 120))
    worker = own_worker(settings)
    worker.start()
    yield worker
    worker.stop()
    print("\nclean tenant exact after a poison (s):", {k: round(v, 2) for k, v in MEASURED.items()})


async def _tenant(settings, slug: str, group_by: tuple[str, ...] = ()):
    tenant = await create_tenant(settings, slug, [("calls", "api.call", "COUNT", None)])
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            await insert_meter(conn, Meter(tenant.id, "tokens", "llm.tokens", "SUM", "usage.tokens", group_by))
    finally:
        await engine.dispose()
    return tenant


def _clean_records(tenant, tag: str) -> list[tuple[bytes, bytes]]:
    t = NOW.isoformat()
    return [(f"{tenant.id}:c{n % 7}".encode(), _pack(tenant.id, f"c{n % 7}", [
        {"id": f"{tag}-{n}-{i}", "type": "api.call" if i % 2 else "llm.tokens", "time": t,
         "data": {"usage": {"tokens": 1.5}, "region": "eu"}} for i in range(CLEAN_EVENTS_PER_RECORD)]))
        for n in range(CLEAN_RECORDS)]


async def _dead_letters(settings, tenant_id) -> dict[str, list[tuple[str, str]]]:
    engine = pg_engine(settings)
    try:
        async with engine.connect() as conn:
            rows = await list_dead_letters(conn, tenant_id, limit=1000)
    finally:
        await engine.dispose()
    found: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        found.setdefault(row.event_id, []).append((row.meter_slug, row.reason))
    return found


async def _until_exact(settings, tenant_id, calls: int, tokens: Decimal, timeout_s: float) -> float:
    """Seconds until the tenant's totals are exactly these (never above them)."""
    started = time.monotonic()
    window = (NOW - timedelta(days=1), NOW + timedelta(days=1))
    while time.monotonic() - started < timeout_s:
        got_calls, _ = await _pg_total(settings, tenant_id, "calls", *window)
        got_tokens, _ = await _pg_total(settings, tenant_id, "tokens", *window)
        assert got_calls <= calls and got_tokens <= tokens, (got_calls, got_tokens)
        if (got_calls, got_tokens) == (calls, tokens):
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"not exact within {timeout_s}s: {(got_calls, got_tokens)} != {(calls, tokens)}")


def _event(event_id: str, kind: str, data: dict) -> dict:
    return {"id": event_id, "type": kind, "time": NOW.isoformat(), "data": data}


NUL = "\x00"
# name -> (poison events, group_by of the poison tenant's SUM meter, the dead letters
# expected: event id -> substring of the reason, and the tokens still counted).
POISONS = {
    "nul-in-id": ([_event(f"nul{NUL}id", "api.call", {})], (), {"nul\\u0000id": "22P05"}, Decimal(0)),
    "id-longer-than-the-dedup-record": ([_event("x" * 300, "api.call", {})], (), {"x" * 256: "22001"}, Decimal(0)),
    "value-1e40-on-sum": ([_event("big1", "llm.tokens", {"usage": {"tokens": 1e40}})], (),
                          {"big1": "beyond the stores' range"}, Decimal(0)),
    "many-9e28-in-one-window": ([_event(f"nine{i}", "llm.tokens", {"usage": {"tokens": 9e28}}) for i in range(5)],
                                (), {f"nine{i}": "beyond the stores' range" for i in range(1, 5)}, Decimal("9E+28")),
    "nul-inside-data": ([_event("nuldata", "llm.tokens", {"usage": {"tokens": f"1{NUL}"}, "note": f"a{NUL}b"})], (),
                        {"nuldata": "not a number"}, Decimal(0)),
    "control-char-group-value": ([_event("grp-nul", "llm.tokens", {"usage": {"tokens": 2}, "region": f"eu{NUL}"}),
                                  _event("grp-bell", "llm.tokens", {"usage": {"tokens": 3}, "region": "eu\x07"})],
                                 # Group keys are stored as JSON text (NUL escaped): both count.
                                 ("region",), {}, Decimal(5)),
}


@pytest.mark.parametrize("poison", list(POISONS))
async def test_a_poison_delays_another_tenant_by_less_than_the_bound(poison_worker, unique_slug, poison):
    settings = poison_worker.settings
    events, group_by, expected_dead, poison_tokens = POISONS[poison]
    clean = await _tenant(settings, unique_slug + "c")
    bad = await _tenant(settings, unique_slug + "p", group_by)
    good_events = [_event(f"ok{i}", "api.call", {}) for i in range(3)]
    records = _clean_records(clean, poison)
    # The poison in the middle of the clean stream, in one pack with good events, so that
    # batches mix both tenants and the poison's own pack has events to keep.
    records.insert(CLEAN_RECORDS // 2, (f"{bad.id}:p".encode(), _pack(bad.id, "p", [*good_events[:2], *events,
                                                                                      good_events[2]])))
    calls = CLEAN_RECORDS * CLEAN_EVENTS_PER_RECORD // 2
    await _produce(settings, records)
    bound = settings.stream.poison_bound_s
    MEASURED[poison] = await _until_exact(settings, clean.id, calls, Decimal("1.5") * calls, bound + 15)
    assert MEASURED[poison] <= bound, MEASURED
    await _until_exact(settings, bad.id, 3, poison_tokens, 20)
    dead = await _dead_letters(settings, bad.id)
    assert set(dead) == set(expected_dead), dead
    for event_id, reason_part in expected_dead.items():
        assert any(reason_part in reason for _, reason in dead[event_id]), dead[event_id]
    assert await _dead_letters(settings, clean.id) == {}
    # And it goes on: both tenants' next events count.
    await _produce(settings, [(b"k", _pack(bad.id, "p", [_event("after", "api.call", {})])),
                              (b"j", _pack(clean.id, "c", [_event("after", "api.call", {})]))])
    await _until_exact(settings, bad.id, 4, poison_tokens, 20)
    await _until_exact(settings, clean.id, calls + 1, Decimal("1.5") * calls, 20)


async def test_a_conflicting_duplicate_counts_once_first_copy_wins_and_is_recorded(poison_worker, unique_slug):
    settings = poison_worker.settings
    clean = await _tenant(settings, unique_slug + "c")
    reuser = await _tenant(settings, unique_slug + "r")
    first = _event("reused", "llm.tokens", {"usage": {"tokens": 1}})
    records = _clean_records(clean, "conflict")
    records.insert(5, (b"r", _pack(reuser.id, "r", [first, {**first, "data": {"usage": {"tokens": 2}}}])))  # same batch
    records.insert(25, (b"r", _pack(reuser.id, "r", [first])))  # identical: a plain duplicate
    calls = CLEAN_RECORDS * CLEAN_EVENTS_PER_RECORD // 2
    await _produce(settings, records)
    assert await _until_exact(settings, clean.id, calls, Decimal("1.5") * calls, 30) <= 30
    await _until_exact(settings, reuser.id, 0, Decimal(1), 20)
    # Later, in another batch: the same id, other content (key order does not matter).
    await _produce(settings, [(b"r", _pack(reuser.id, "r", [
        {**first, "data": {"usage": {"tokens": 7}}},
        {"data": {"usage": {"tokens": 1}}, "time": first["time"], "type": "llm.tokens", "id": "reused"}]))])
    engine = pg_engine(settings)
    try:
        deadline = time.monotonic() + 20
        while True:
            async with engine.connect() as conn:
                conflicts = await list_duplicate_conflicts(conn, reuser.id, NOW - timedelta(days=1),
                                                           datetime.now(timezone.utc) + timedelta(minutes=1), 100)
                duplicates = await duplicate_counts(conn, reuser.id, NOW - timedelta(days=1),
                                                    datetime.now(timezone.utc) + timedelta(minutes=1))
            if len(conflicts) >= 2 and sum(c for _, c in duplicates) >= 4 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
    finally:
        await engine.dispose()
    assert sum(c for _, c in duplicates) == 4
    assert [c.event_id for c in conflicts] == ["reused", "reused"]
    [first_digest] = {c.first_digest for c in conflicts}
    assert len({c.duplicate_digest for c in conflicts} | {first_digest}) == 3  # tokens 1 (first), 2 and 7
    await _until_exact(settings, reuser.id, 0, Decimal(1), 5)  # the first copy still wins


# --- events from the whole input domain -----------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_number = st.one_of(st.integers(min_value=-2**63, max_value=2**63 - 1), st.floats(allow_nan=False),
                    st.decimals(allow_nan=False, allow_infinity=False, places=12).map(str), _text)
_json = st.recursive(st.one_of(st.none(), st.booleans(), _number, _text),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                     max_leaves=8)
_events = st.lists(st.fixed_dictionaries({
    "id": _text, "type": st.sampled_from(["api.call", "llm.tokens", "other"]), "subject": _text,
    "source": _text, "data": st.fixed_dictionaries({"usage": st.fixed_dictionaries({"tokens": _number}),
                                                   "region": st.one_of(_text, _number)}, optional={"x": _json}),
}), min_size=1, max_size=40)


def _stored_id(event_id: str) -> str:
    return event_id.replace(NUL, "\\u0000")


@hypothesis_settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=_events)
def test_any_events_are_counted_or_dead_lettered_and_nothing_stalls(poison_worker, batch):
    asyncio.run(_push_domain_batch(poison_worker.settings, batch))


async def _push_domain_batch(settings, batch: list[dict]) -> None:
    tenant = await _tenant(settings, f"hyp{uuid.uuid4().hex[:10]}", ("region",))
    sent = {}
    for n, event in enumerate(batch):  # ids unique per example, anything else as generated
        event = {**event, "id": f"{n}:{event['id']}", "time": NOW.isoformat()}
        sent[event["id"]] = event
    await _produce(settings, [(f"{tenant.id}:{e['subject']}".encode(), _pack(tenant.id, e["subject"], [e]))
                              for e in sent.values()])
    wanted = {_stored_id(i) for i in sent}
    deadline = time.monotonic() + settings.stream.poison_bound_s + 30
    engine = pg_engine(settings)
    try:
        while True:
            async with engine.connect() as conn:
                processed = set((await conn.execute(text(
                    f'SELECT event_id FROM "{tenant.schema_name}".processed_event'))).scalars())
                dead = await list_dead_letters(conn, tenant.id, limit=1000)
            refused = {d.event_id for d in dead if d.meter_slug == ""}
            if wanted <= processed | refused or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
    finally:
        await engine.dispose()
    assert wanted <= processed | refused, wanted - processed - refused
    assert not processed & refused  # counted or refused, never both
    calls = sum(1 for i, e in sent.items() if e["type"] == "api.call" and _stored_id(i) in processed)
    got_calls, _ = await _pg_total(settings, tenant.id, "calls", NOW - timedelta(days=1),
                                   NOW + timedelta(days=1))
    assert got_calls == calls


# --- the stores' own refusals, as the sinks classify them -------------------------------

async def test_clickhouse_refusing_a_value_is_unwritable_data_not_an_outage(stack):
    from stream.sinks.clickhouse import ClickHouseEventSink, ClickHouseWrite
    from stream.sinks.failures import SinkUnavailable, UnwritableData
    from warehouse.clickhouse.client import open_clickhouse

    sink = ClickHouseEventSink(await asyncio.to_thread(open_clickhouse, stack.clickhouse), stack.clickhouse.database,
                               asyncio.Lock())
    batch = ClickHouseWrite()
    batch.rollup_lines = orjson.dumps([uuid.uuid4(), "hour", "m", NOW, "", "SUM", format(Decimal("1E+40"), "f"), 1, NOW,
                                       "", 1]).decode()
    with pytest.raises(UnwritableData, match="Too many digits"):
        await sink.write(batch)
    unreachable = stack.clickhouse.model_copy(update={"port": own_port(stack, 121)})  # nothing listens there
    with pytest.raises(SinkUnavailable):
        await ClickHouseEventSink(await asyncio.to_thread(_client_without_ddl, unreachable), "x",
                                  asyncio.Lock()).write(batch)


def _client_without_ddl(config):
    from warehouse.clickhouse.host_client import HostClient
    from warehouse.clickhouse.host_secret import read_secret
    return HostClient(config.host_url, read_secret(config.host_secret_path))


async def test_postgresql_refusing_a_value_is_unwritable_data_and_a_refused_connection_an_outage(stack, unique_slug):
    from sqlalchemy.ext.asyncio import create_async_engine

    from stream.sinks.failures import SinkUnavailable, UnwritableData, classify
    from warehouse.postgres.usage import claim_new_events

    tenant = await create_tenant(stack, unique_slug)
    engine = pg_engine(stack)
    try:
        with pytest.raises(Exception) as refused:
            async with engine.begin() as conn:
                await claim_new_events(conn, tenant.id, [(f"a{NUL}b", NOW, 1)])
    finally:
        await engine.dispose()
    error = classify(refused.value)
    assert isinstance(error, UnwritableData) and "22P05" in error.reason, error
    url = stack.postgres_url.rsplit("@", 1)
    nowhere = create_async_engine(f"{url[0]}@127.0.0.1:{own_port(stack, 122)}/{url[1].split('/', 1)[1]}")
    try:
        with pytest.raises(Exception) as outage:
            async with nowhere.connect():
                pass
    finally:
        await nowhere.dispose()
    # No server behind the address (a socket or a port, as the stack's URL says).
    assert "connection to server" in str(outage.value) and isinstance(classify(outage.value), SinkUnavailable)
