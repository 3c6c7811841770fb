"""A take's records split into lanes, each written by its own transactions at once. Pure.

A worker's transaction spends most of its time waiting: on PostgreSQL (the claim, the
window upserts, the commit) and on ClickHouse. With one transaction at a time the worker's
Python idles meanwhile, and PostgreSQL idles while the worker decodes and aggregates. Two
lanes overlap the two (bench/README.md, "Issue 16: lanes").

Each partition of a take goes to exactly one lane, whole, so its records are still
written in offset order by one transaction after the other, and each transaction commits
only its own partitions' positions: exactly-once holds per partition as with one lane.
Lanes of one take may touch the same tenant (records keyed tenant:subject, sharded
tenants); they then take row locks in the same order, as two workers do, and wait rather
than deadlock. Partitions go to the lane with the fewest bytes so far, the largest first,
so the lanes of a take finish close together.
"""

from __future__ import annotations

from collections.abc import Sequence

from .sinks.records import SourceRecord

__all__ = ["split_lanes"]


def split_lanes(records: Sequence[SourceRecord], lanes: int) -> list[list[SourceRecord]]:
    """The records in at most `lanes` non-empty lists, each partition in one of them, every
    list in the take's order."""
    sizes: dict[int, int] = {}
    for record in records:
        sizes[record.partition] = sizes.get(record.partition, 0) + len(record.value)
    loads = [0] * max(1, min(lanes, len(sizes)))
    lane_of: dict[int, int] = {}
    for partition in sorted(sizes, key=lambda p: (-sizes[p], p)):
        lane = loads.index(min(loads))
        lane_of[partition] = lane
        loads[lane] += sizes[partition]
    split: list[list[SourceRecord]] = [[] for _ in loads]
    for record in records:
        split[lane_of[record.partition]].append(record)
    return [lane for lane in split if lane]
