"""stream.lanes.split_lanes: a take's partitions spread over lanes, each whole, in order."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from stream.lanes import split_lanes
from stream.sinks.postgres import SourceRecord

AT = datetime(2026, 3, 1, tzinfo=timezone.utc)


def record(partition: int, offset: int, size: int = 10) -> SourceRecord:
    return SourceRecord("events", partition, offset, AT, b"x" * size)


def test_each_partition_goes_whole_to_one_lane_in_offset_order():
    take = [record(p, o) for o in range(5) for p in (0, 1, 2, 3)]
    lanes = split_lanes(take, 2)
    assert len(lanes) == 2
    for lane in lanes:
        for partition in {r.partition for r in lane}:
            assert [r.offset for r in lane if r.partition == partition] == list(range(5))
    assert sorted({r.partition for r in lanes[0]} | {r.partition for r in lanes[1]}) == [0, 1, 2, 3]
    assert not {r.partition for r in lanes[0]} & {r.partition for r in lanes[1]}


def test_the_largest_partitions_are_spread_first_so_lanes_carry_about_the_same_bytes():
    take = [record(0, 0, 900), record(1, 0, 500), record(2, 0, 400), record(3, 0, 100)]
    lanes = split_lanes(take, 2)
    assert [sorted(r.partition for r in lane) for lane in lanes] == [[0, 3], [1, 2]]
    assert [sum(len(r.value) for r in lane) for lane in lanes] == [1000, 900]


def test_no_more_lanes_than_partitions_and_one_lane_keeps_the_take_as_it_is():
    take = [record(4, 0), record(4, 1)]
    assert split_lanes(take, 3) == [take]
    mixed = [record(1, 0), record(0, 0), record(1, 1)]
    assert split_lanes(mixed, 1) == [mixed]
    assert split_lanes([], 2) == []


@given(st.lists(st.tuples(st.integers(0, 7), st.integers(1, 50)), max_size=60), st.integers(1, 4))
def test_every_record_is_in_exactly_one_lane(spec, lanes):
    take = [record(p, o, size) for o, (p, size) in enumerate(spec)]
    split = split_lanes(take, lanes)
    assert len(split) <= lanes and all(split)
    assert sorted(r.offset for lane in split for r in lane) == [r.offset for r in take]
    owners = {}
    for n, lane in enumerate(split):
        assert [r.offset for r in lane] == sorted(r.offset for r in lane)  # the take's order
        for r in lane:
            assert owners.setdefault(r.partition, n) == n
