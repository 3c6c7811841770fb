"""Consumer lag and the freshness watermark, from committed positions (pure).

A partition is caught up when its committed position reaches the broker's end offset;
then every event accepted on it so far is included, up to `now`. Otherwise it is
included up to the Kafka timestamp of the last record applied. The watermark is the
oldest of those over all partitions: usage answers are final up to it.

Lag in seconds follows kafka-lag-exporter's meaning (now minus the time of the oldest
record not yet applied), but positions keep only the last applied record's time, not
the next one's: behind, we report now minus that time. The next record is never older
than the last applied one (the broker stamps appends in order), so this over-states the
lag by at most the gap between the two records: an alert on it errs towards paging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["PartitionState", "Freshness", "freshness"]


@dataclass(frozen=True)
class PartitionState:
    partition: int
    end_offset: int
    next_offset: int
    lag: int
    included_until: datetime | None
    lag_seconds: float | None  # None: behind with no record applied yet, so no time to measure from


@dataclass(frozen=True)
class Freshness:
    partitions: list[PartitionState]
    watermark: datetime | None  # None: some partition has records and none applied yet


def freshness(end_offsets: Mapping[int, int], positions: Mapping[int, tuple[int, datetime]],
              now: datetime) -> Freshness:
    """end_offsets: partition -> broker end offset; positions: partition -> (next offset, last record time)."""
    states = []
    for partition in sorted(end_offsets):
        end = end_offsets[partition]
        next_offset, record_at = positions.get(partition, (0, None))
        lag = max(0, end - next_offset)
        included_until = now if lag == 0 else record_at
        lag_seconds = None if included_until is None else max(0.0, (now - included_until).total_seconds())
        states.append(PartitionState(partition, end, next_offset, lag, included_until, lag_seconds))
    marks = [s.included_until for s in states]
    watermark = None if any(m is None for m in marks) else min(marks, default=now)
    return Freshness(states, watermark)
