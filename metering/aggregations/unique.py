"""UNIQUE_COUNT: distinct values of a property. Distinct values cannot be added across
batches or windows, so a delta carries the values themselves (`unique_values`) and its
quantity stays 0; ClickHouse keeps them as uniqExact states (warehouse/clickhouse/ddl.py).
PostgreSQL keeps event counts only, so a period's value cannot be combined from its
windows: not billable, and read from ClickHouse only. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..meter import extract_property
from .base import MeterAggregation, PeriodTotal

__all__ = ["UniqueCount"]


class UniqueCount(MeterAggregation):
    name = "UNIQUE_COUNT"
    description = "UNIQUE_COUNT of distinct values of a property"
    combinable = False
    reads_text = True
    late_correction = None
    postgres_merge = "t.quantity"
    clickhouse_rollup = "uniqExactMerge(uniques)"  # from usage_unique's states, not usage_rollup
    clickhouse_raw = "uniqExact({value})"

    @staticmethod
    def read_value(data: Mapping[str, Any], path: str | None) -> str:
        return extract_property(data, path or "")

    @staticmethod
    def add(delta, event, value) -> None:
        delta.unique_values.add(value)
        delta.event_count += 1

    @staticmethod
    def merge(delta, other) -> None:
        if hasattr(delta, "unique_values"):
            delta.unique_values |= other.unique_values
        delta.event_count += other.event_count

    def total_value(self, total: PeriodTotal) -> Decimal | None:
        return None
