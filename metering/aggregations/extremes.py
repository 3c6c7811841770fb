"""MAX and MIN: a window's quantity is its largest (smallest) value, and so is a period's.
A late event may change the period's value or leave it: it restates the meter. Pure."""

from __future__ import annotations

from .base import RESTATE, MeterAggregation

__all__ = ["Max", "Min"]


class Max(MeterAggregation):
    name = "MAX"
    description = "MAX of a number"
    late_correction = RESTATE
    postgres_merge = "GREATEST(t.quantity, excluded.quantity)"
    clickhouse_rollup = "max(quantity)"
    clickhouse_raw = "max({value})"

    @staticmethod
    def add(delta, event, value) -> None:
        delta.quantity = value if delta.event_count == 0 or value > delta.quantity else delta.quantity
        delta.event_count += 1

    @staticmethod
    def merge(delta, other) -> None:
        if other.quantity > delta.quantity:
            delta.quantity = other.quantity
        delta.event_count += other.event_count


class Min(MeterAggregation):
    name = "MIN"
    description = "MIN of a number"
    late_correction = RESTATE
    postgres_merge = "LEAST(t.quantity, excluded.quantity)"
    clickhouse_rollup = "min(quantity)"
    clickhouse_raw = "min({value})"

    @staticmethod
    def add(delta, event, value) -> None:
        delta.quantity = value if delta.event_count == 0 or value < delta.quantity else delta.quantity
        delta.event_count += 1

    @staticmethod
    def merge(delta, other) -> None:
        if other.quantity < delta.quantity:
            delta.quantity = other.quantity
        delta.event_count += other.event_count
