"""Consumer lag and the freshness watermark, from committed positions (pure).

A partition is caught up when its committed position reaches the broker's end offset;
then every event accepted on it so far is included, up to `now`. Otherwise it is
included up to the Kafka timestamp of the last record applied. The watermark is the
oldest of those over all partitions: usage answers are final up to it.
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
        states.append(PartitionState(partition, end, next_offset, lag, now if lag == 0 else record_at))
    marks = [s.included_until for s in states]
    watermark = None if any(m is None for m in marks) else min(marks, default=now)
    return Freshness(states, watermark)
