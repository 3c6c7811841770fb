"""AVG: the mean of the values in a window, and over a period the event-weighted mean.

A window keeps the values' sum as its quantity and their number as its event_count
(usage_hourly and the rollups have both columns), so windows merge as SUM's do and the
mean is computed on read: a window's mean is quantity / event_count, a period's is the
sum of its windows' quantities over the sum of their counts, never a mean of means.
A late event changes the period's mean: it restates the meter. Pure."""

from __future__ import annotations

from decimal import Decimal

from ..quantity import plain_quantity
from .base import RESTATE, MeterAggregation

__all__ = ["Average"]


class Average(MeterAggregation):
    name = "AVG"
    description = "AVG (mean, weighted by events over a span) of a number"
    late_correction = RESTATE

    def window_value(self, quantity: Decimal, event_count: int) -> Decimal:
        if not event_count:
            return Decimal(0)
        return plain_quantity(Decimal(quantity) / event_count)
