"""COUNT and SUM: a window's quantity is the events' count or their values' sum; windows
add up, and a late event adds its units to the invoiced period. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import MeterAggregation

__all__ = ["Count", "Sum"]


class Count(MeterAggregation):
    name = "COUNT"
    description = "COUNT events"
    additive = True
    clickhouse_raw = "count()"

    @property
    def needs_value(self) -> bool:
        return False

    @staticmethod
    def read_value(data: Mapping[str, Any], path: str | None) -> None:
        return None

    @staticmethod
    def add(delta, event, value) -> None:
        delta.quantity += 1
        delta.event_count += 1


class Sum(MeterAggregation):
    name = "SUM"
    description = "SUM of a number"
    additive = True
