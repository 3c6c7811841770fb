"""LATEST: a window's quantity is the value of its event with the greatest (time, id),
and a period's is its latest window's. A late event restates the meter. Pure."""

from __future__ import annotations

from .base import RESTATE, MeterAggregation, latest_key

__all__ = ["Latest"]

# Ids compare bytewise (COLLATE "C"), as Python and ClickHouse compare them, so LATEST
# picks the same event everywhere.
_NEWER = '(excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C")'


class Latest(MeterAggregation):
    name = "LATEST"
    description = "LATEST (by event time) of a number"
    keeps_latest = True
    late_correction = RESTATE
    postgres_merge = f"CASE WHEN t.latest_at IS NULL OR {_NEWER} THEN excluded.quantity ELSE t.quantity END"
    clickhouse_rollup = "argMax(quantity, (latest_at, latest_id))"
    clickhouse_raw = "argMax({value}, (time, id))"

    @staticmethod
    def add(delta, event, value) -> None:
        if delta.latest_at is None or (event.time, event.id) > (delta.latest_at, delta.latest_id):
            delta.quantity, delta.latest_at, delta.latest_id = value, event.time, event.id
        delta.event_count += 1

    @staticmethod
    def merge(delta, other) -> None:
        if latest_key(other.latest_at, other.latest_id) > latest_key(delta.latest_at, delta.latest_id):
            delta.quantity, delta.latest_at, delta.latest_id = other.quantity, other.latest_at, other.latest_id
        delta.event_count += other.event_count
