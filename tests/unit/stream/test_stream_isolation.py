"""Isolating the events a store refuses (stream/isolation.py), on a fake of our writer port.

A record here is a tuple of event names; the fake store refuses any write holding a
poison name, and commits the rest, keeping what each commit held and whether it advanced.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

import pytest

from stream.isolation import write_isolating
from stream.sinks.failures import SinkUnavailable, UnwritableData


@dataclass(frozen=True)
class Rec:
    offset: int
    events: tuple[str, ...]
    advances: bool = True
    refusal: str | None = None
    stored: bool = True


@dataclass
class FakeStore:
    poison: set[str]
    refuse_dead_letters: bool = False
    outage_after: int | None = None  # writes before the store goes away
    commits: list[list[Rec]] = field(default_factory=list)
    writes: int = 0

    async def write(self, records):
        self.writes += 1
        if self.outage_after is not None and self.writes > self.outage_after:
            raise SinkUnavailable("connection refused")
        bad = [e for r in records for e in r.events if e in self.poison]
        refusing = any(r.refusal and r.stored for r in records) and self.refuse_dead_letters
        if (bad and not all(r.refusal for r in records)) or refusing:
            raise UnwritableData(f"cannot store {sorted(bad)}")
        self.commits.append(list(records))
        return list(records)

    def split(self, record):
        if len(record.events) < 2:
            return None
        middle = len(record.events) // 2
        return (replace(record, events=record.events[:middle], advances=False),
                replace(record, events=record.events[middle:]))

    def refuse(self, record, reason):
        return replace(record, refusal=reason)

    def give_up(self, record, reason):
        return replace(record, refusal=reason, stored=False)

    def counted(self):
        return [e for c in self.commits for r in c if not r.refusal for e in r.events]

    def dead(self):
        return {e: r.refusal for c in self.commits for r in c if r.refusal for e in r.events}

    def advanced(self):
        return [r.offset for c in self.commits for r in c if r.advances]


def _batch(*records):
    return [Rec(i, tuple(events)) for i, events in enumerate(records)]


def _run(store, records, expired=lambda: False):
    return asyncio.run(write_isolating(store, records, expired))


CASES = [
    # (name, records, poison, dead-lettered)
    ("clean batch: one write", [["a", "b"], ["c"]], set(), set()),
    ("a poison record of one event", [["a"], ["x"], ["b"], ["c"]], {"x"}, {"x"}),
    ("a poison event inside a pack", [["a"], ["b", "x", "c", "d"], ["e"]], {"x"}, {"x"}),
    ("two poisons far apart", [["x"], ["a"], ["b"], ["c"], ["d", "y"]], {"x", "y"}, {"x", "y"}),
    ("every event poison", [["x"], ["y", "z"]], {"x", "y", "z"}, {"x", "y", "z"}),
    ("poison first and last in a pack", [["x", "a", "b", "y"]], {"x", "y"}, {"x", "y"}),
]


@pytest.mark.parametrize("name, records, poison, dead", CASES, ids=[c[0] for c in CASES])
def test_poison_is_dead_lettered_and_everything_else_counted_once(name, records, poison, dead):
    store = FakeStore(poison)
    batch = _batch(*records)
    outcomes = _run(store, batch)
    everything = [e for r in records for e in r]
    assert sorted(store.counted()) == sorted(e for e in everything if e not in dead)
    assert set(store.dead()) == dead
    assert all(reason.startswith("cannot store") for reason in store.dead().values())
    # Each record's position advanced exactly once, in offset order.
    assert store.advanced() == [r.offset for r in batch]
    assert len(outcomes) == len(store.commits)
    if not poison:
        assert store.writes == 1


def test_one_poison_in_a_large_batch_costs_logarithmic_writes():
    batch = _batch(*[[f"e{i}"] for i in range(1024)])
    store = FakeStore({"e700"})
    _run(store, batch)
    assert store.dead() == {"e700": "cannot store ['e700']"}
    assert store.writes <= 2 * 10 + 2


def test_past_the_bound_the_failing_part_is_dead_lettered_whole():
    store = FakeStore({"x"})
    batch = _batch(["a"], ["x"], ["b"], ["c"])
    _run(store, batch, expired=lambda: True)
    assert set(store.dead()) == {"a", "x", "b", "c"}
    assert all("not isolated within the bound" in r for r in store.dead().values())
    assert store.advanced() == [0, 1, 2, 3]


def test_a_dead_letter_the_store_refuses_too_only_advances_the_position():
    store = FakeStore({"x"}, refuse_dead_letters=True)
    _run(store, _batch(["a"], ["x"]))
    assert store.counted() == ["a"]
    [[given_up]] = [c for c in store.commits if c[0].refusal]
    assert (given_up.events, given_up.stored, given_up.advances) == (("x",), False, True)
    assert "could not be stored either" in given_up.refusal


def test_an_outage_while_isolating_propagates_for_the_batch_retry():
    store = FakeStore({"x"}, outage_after=2)
    with pytest.raises(SinkUnavailable):
        _run(store, _batch(["a"], ["b"], ["x"], ["c"]))


# --- the PostgreSQL sink's side of the port (stream/sinks/postgres.py) ----------------

def test_a_record_splits_into_pieces_of_which_only_the_last_advances():
    import uuid
    from datetime import datetime, timezone

    import orjson

    from stream.sinks.postgres import SourceRecord, split_record

    tenant = uuid.uuid4()
    value = orjson.dumps({"tenant_id": str(tenant), "received_at": "", "events": [
        {"id": f"e{i}", "type": "t", "subject": "s", "time": "2026-12-01T00:00:00Z", "data": {}} for i in range(3)]})
    record = SourceRecord("topic", 0, 7, datetime.now(timezone.utc), value)
    first, second = split_record(record)
    assert ([e.id for e in first.events], first.advances) == (["e0"], False)
    assert ([e.id for e in second.events], second.advances) == (["e1", "e2"], True)
    assert split_record(split_record(second)[0]) is None
    assert split_record(SourceRecord("topic", 0, 8, record.timestamp, b"not json")) is None


def test_dead_letters_escape_nul_which_postgresql_text_refuses():
    from stream.sinks.postgres import _storable

    assert _storable(("a\x00b", "", "why", {"k\x00": ["v\x00", 1, None]})) == [
        "a\\u0000b", "", "why", {"k\\u0000": ["v\\u0000", 1, None]}]
