"""One quantity per meter from hourly usage rows, by the meter's aggregation. Pure.

usage_hourly keeps one row per (meter, hour, group), merged by the stream with
the meter's rule (metering.UsageDelta.merge). Billing and the limit
check combine those rows over a span of hours and every group with the same
rule, mirrored here rather than imported, because the domain depends on nothing
(metering.combine_total is the stream's copy; a unit test pins the two
together):

- COUNT, SUM: the sum.
- MAX: the largest row.
- LATEST: the row whose (latest_at, latest_id) is greatest, across hours and groups.
- UNIQUE_COUNT: cannot be combined. PostgreSQL keeps event counts only, not the
  distinct values, and distinct counts of hours do not add up; until billing
  reads them from ClickHouse, a plan pricing such a meter is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from .errors import PermanentError
from .plans import Plan

__all__ = ["ADDITIVE", "UNBILLABLE_REASON", "MeterTotal", "UnbillableMeterError", "UsageHour", "meter_totals",
           "priced_meters", "unbillable_meters"]

ADDITIVE = frozenset({"COUNT", "SUM"})
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


class UnbillableMeterError(PermanentError):
    """A plan prices a meter whose usage billing cannot compute: retrying cannot help."""

    def __init__(self, meter_slug: str, reason: str = UNBILLABLE_REASON) -> None:
        super().__init__(f"meter '{meter_slug}': {reason}")
        self.meter_slug = meter_slug
        self.reason = reason


@dataclass(slots=True)
class MeterTotal:
    """A meter's running total over rows, by `aggregation`; `value` is None until a row is added."""

    meter_slug: str
    aggregation: str
    value: Decimal | None = None
    _latest: tuple[datetime, str] | None = field(default=None, repr=False)

    def add(self, row: UsageHour) -> None:
        if row.aggregation != self.aggregation and not {row.aggregation, self.aggregation} <= ADDITIVE:
            # COUNT and SUM rows of one meter add up alike: rows written before usage_hourly
            # had an aggregation column say SUM (its default), and so do the rows tests and
            # backfills seed through warehouse.postgres.usage.add_usage. Any other mix means
            # the meter was redefined: no single rule fits.
            raise PermanentError(f"meter '{self.meter_slug}' has {self.aggregation} and {row.aggregation} "
                                 "usage rows; their combination is undefined")
        quantity = Decimal(row.quantity)
        if self.aggregation in ADDITIVE:
            self.value = quantity if self.value is None else self.value + quantity
        elif self.aggregation == "MAX":
            self.value = quantity if self.value is None else max(self.value, quantity)
        elif self.aggregation == "LATEST":
            if row.latest_at is None:
                # The stream always stamps LATEST rows; one without a stamp cannot be ordered.
                raise PermanentError(f"meter '{self.meter_slug}' has a LATEST row without latest_at "
                                     f"({row.window_start})")
            # Ties on time are broken by id, as the stream and PostgreSQL (COLLATE "C") break them.
            key = (row.latest_at, row.latest_id or "")
            if self._latest is None or key > self._latest:
                self.value, self._latest = quantity, key
        elif self.aggregation == "UNIQUE_COUNT":
            self.value = None  # never combinable; callers decide whether that matters
        else:
            raise PermanentError(f"meter '{self.meter_slug}' has an unknown aggregation {self.aggregation!r}")


def meter_totals(rows: Iterable[UsageHour | tuple]) -> tuple[dict[str, Decimal], set[str]]:
    """({meter slug: total} over all rows, {slugs left out because they are UNIQUE_COUNT})."""
    totals: dict[str, MeterTotal] = {}
    for raw in rows:
        row = UsageHour(*raw)
        total = totals.get(row.meter_slug)
        if total is None:
            total = totals[row.meter_slug] = MeterTotal(row.meter_slug, row.aggregation)
        total.add(row)
    uncombinable = {slug for slug, t in totals.items() if t.aggregation == "UNIQUE_COUNT"}
    return ({slug: t.value for slug, t in totals.items() if slug not in uncombinable and t.value is not None},
            uncombinable)


def unbillable_meters(priced_slugs: Iterable[str], aggregations: Mapping[str, str]) -> list[str]:
    """The priced meters (charges' slugs) whose aggregation billing cannot combine, sorted."""
    return sorted({slug for slug in priced_slugs if aggregations.get(slug) == "UNIQUE_COUNT"})


def priced_meters(plans: Sequence[Plan]) -> set[str]:
    """Meter slugs the plans charge for (limits do not price)."""
    return {charge.meter_slug for plan in plans for charge in plan.charges}

