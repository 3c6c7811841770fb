"""One quantity per meter from hourly usage rows, by the meter's aggregation. Pure.

usage_hourly keeps one row per (meter, hour, group), merged by the stream with the
meter's rule. Billing and the limit check combine those rows over a span of hours and
every group with the same rule, which the aggregation's class owns
(metering.aggregations: a sum, a maximum or minimum, the latest value, the event-weighted
mean). UNIQUE_COUNT cannot be combined: PostgreSQL keeps event counts only, not the
distinct values, and distinct counts of hours do not add up; until billing reads them
from ClickHouse, a plan pricing such a meter is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from metering import ADDITIVE, PeriodTotal, UnknownAggregation, aggregation_for

from .errors import PermanentError
from .plans import Plan

__all__ = ["ADDITIVE", "UNBILLABLE_REASON", "MeterTotal", "UnbillableMeterError", "UsageHour", "meter_totals",
           "priced_meters", "unbillable_meters"]

UNBILLABLE_REASON = ("UNIQUE_COUNT usage cannot be billed yet: distinct counts cannot be combined from "
                     "hourly rows (PostgreSQL keeps only event counts)")


class UsageHour(NamedTuple):
    """One usage_hourly row. The defaults read a bare (slug, window, quantity) as SUM."""

    meter_slug: str
    window_start: datetime
    quantity: Decimal
    aggregation: str = "SUM"
    latest_at: datetime | None = None
    latest_id: str | None = None
    # Events in the row: AVG's mean is quantity (the values' sum) over it.
    event_count: int = 0


class UnbillableMeterError(PermanentError):
    """A plan prices a meter whose usage billing cannot compute: retrying cannot help."""

    def __init__(self, meter_slug: str, reason: str = UNBILLABLE_REASON) -> None:
        super().__init__(f"meter '{meter_slug}': {reason}")
        self.meter_slug = meter_slug
        self.reason = reason


class MeterTotal:
    """A meter's running total over rows, by `aggregation`; `value` is None until a row is
    added, and always for an aggregation whose rows cannot be combined."""

    __slots__ = ("meter_slug", "aggregation", "_kind", "_total")

    def __init__(self, meter_slug: str, aggregation: str) -> None:
        self.meter_slug = meter_slug
        self.aggregation = aggregation
        try:
            self._kind = aggregation_for(aggregation)
        except UnknownAggregation:
            raise PermanentError(f"meter '{meter_slug}' has an unknown aggregation {aggregation!r}") from None
        self._total = PeriodTotal()

    @property
    def combinable(self) -> bool:
        return self._kind.combinable

    @property
    def value(self) -> Decimal | None:
        return self._kind.total_value(self._total) if self._total.windows else None

    def add(self, row: UsageHour) -> None:
        if row.aggregation != self.aggregation and not {row.aggregation, self.aggregation} <= ADDITIVE:
            # COUNT and SUM rows of one meter add up alike: rows written before usage_hourly
            # had an aggregation column say SUM (its default), and so do the rows tests and
            # backfills seed through warehouse.postgres.usage.add_usage. Any other mix means
            # the meter was redefined: no single rule fits.
            raise PermanentError(f"meter '{self.meter_slug}' has {self.aggregation} and {row.aggregation} "
                                 "usage rows; their combination is undefined")
        if self._kind.keeps_latest and row.latest_at is None:
            # The stream always stamps LATEST rows; one without a stamp cannot be ordered.
            raise PermanentError(f"meter '{self.meter_slug}' has a {self.aggregation} row without latest_at "
                                 f"({row.window_start})")
        self._kind.absorb(self._total, Decimal(row.quantity), row.event_count, row.latest_at, row.latest_id)


def meter_totals(rows: Iterable[UsageHour | tuple]) -> tuple[dict[str, Decimal], set[str]]:
    """({meter slug: total} over all rows, {slugs left out because their rows cannot be combined})."""
    totals: dict[str, MeterTotal] = {}
    for raw in rows:
        row = UsageHour(*raw)
        total = totals.get(row.meter_slug)
        if total is None:
            total = totals[row.meter_slug] = MeterTotal(row.meter_slug, row.aggregation)
        total.add(row)
    uncombinable = {slug for slug, t in totals.items() if not t.combinable}
    return ({slug: t.value for slug, t in totals.items() if slug not in uncombinable and t.value is not None},
            uncombinable)


def unbillable_meters(priced_slugs: Iterable[str], aggregations: Mapping[str, str]) -> list[str]:
    """The priced meters (charges' slugs) whose aggregation billing cannot combine, sorted."""
    return sorted({slug for slug in priced_slugs
                   if slug in aggregations and not aggregation_for(aggregations[slug]).combinable})


def priced_meters(plans: Sequence[Plan]) -> set[str]:
    """Meter slugs the plans charge for (limits do not price)."""
    return {charge.meter_slug for plan in plans for charge in plan.charges}

