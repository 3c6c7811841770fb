"""Subscription segments: which plan was in force for which part of a period. Pure.

A period's invoice is composed from one segment per plan in force during it
(`invoicing.compose_segmented_invoice`). A plan change at instant X ends one
subscription at X and starts the next at X; a cancellation "at once" ends it at
the cancellation instant, one "at period end" at the period's end (so the
period is billed whole and the next period has no segment, hence no invoice).

Usage is stored in hourly windows: a window belongs to the segment containing
its start, so a change at 12:30 rates the 12:00-13:00 hour under the old plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType

from .plans import Plan
from .usage_totals import MeterTotal, UnbillableMeterError, UsageHour

_HOUR = timedelta(hours=1)

__all__ = ["SubscriptionSegment", "SubscriptionSpan", "period_bounds", "plan_segments", "segment_event_range",
           "segment_of_window", "with_usage"]


def period_bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """Billing periods are calendar dates, in UTC: [start 00:00, end 00:00)."""
    return (datetime.combine(period_start, time(), tzinfo=timezone.utc),
            datetime.combine(period_end, time(), tzinfo=timezone.utc))


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{what} is a naive datetime; pass an aware one")
    return at.astimezone(timezone.utc)


@dataclass(frozen=True, slots=True)
class SubscriptionSpan:
    """A subscription as stored: in force from `started_at` until `ended_at` (None: still)."""

    plan: Plan
    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionSegment:
    """The part [start, end) of a period under `plan`, and the usage that happened in it."""

    plan: Plan
    start: datetime
    end: datetime
    usage: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _aware(self.start, "segment start"))
        object.__setattr__(self, "end", _aware(self.end, "segment end"))
        if self.end <= self.start:
            raise ValueError(f"segment end {self.end} is not after its start {self.start}")
        object.__setattr__(self, "usage", MappingProxyType(dict(self.usage)))


def plan_segments(spans: Sequence[SubscriptionSpan], period_start: date, period_end: date) -> list[SubscriptionSegment]:
    """Clip subscriptions to the period; ordered, without usage; [] when none was in force.

    Overlapping subscriptions would bill the same hours twice, so they raise.
    """
    lower, upper = period_bounds(period_start, period_end)
    segments: list[SubscriptionSegment] = []
    for span in sorted(spans, key=lambda s: _aware(s.started_at, "started_at")):
        start = max(_aware(span.started_at, "started_at"), lower)
        end = upper if span.ended_at is None else min(_aware(span.ended_at, "ended_at"), upper)
        if end <= start:
            continue
        if segments and start < segments[-1].end:
            raise ValueError(f"subscriptions overlap at {start}: {segments[-1].plan.slug} and {span.plan.slug}")
        segments.append(SubscriptionSegment(span.plan, start, end))
    return segments


def segment_of_window(segments: Sequence[SubscriptionSegment], window_start: datetime) -> int | None:
    """The index of the segment whose usage the hourly window starting at `window_start` is
    (see with_usage), None for a window outside every segment."""
    at = _aware(window_start, "window_start")
    if segments and at < segments[0].start < at + _HOUR:
        at = segments[0].start
    for index, segment in enumerate(segments):
        if segment.start <= at < segment.end:
            return index
    return None


def segment_event_range(segments: Sequence[SubscriptionSegment], index: int) -> tuple[datetime, datetime]:
    """[from, to): the event times whose hourly windows are segment `index`'s usage, as
    `segment_of_window` assigns them: whole hours, from the hour of the first segment's
    start (its events may follow the start within that hour), else from the first hour
    starting in the segment, to the end of the hour the segment ends in."""
    segment = segments[index]
    start = _floor_hour(segment.start)
    if index > 0 and start < segment.start:
        start += _HOUR
    end = _floor_hour(segment.end)
    return start, end + _HOUR if end < segment.end else end


def _floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def with_usage(
    segments: Sequence[SubscriptionSegment], hours: Iterable[UsageHour | tuple[str, datetime, Decimal]]
) -> list[SubscriptionSegment]:
    """Give each segment the usage of the hourly windows that start inside it.

    `hours` are usage_hourly rows (`UsageHour`; a bare (meter slug, window start,
    quantity) is a SUM row), one per meter, hour and group. A segment's quantity
    per meter follows the meter's aggregation over its hours and groups
    (usage_totals, by the aggregation's class). Windows outside every
    segment (before a start, after a cancellation) are not billed, except the
    window in which the first segment starts: its events may all come after the
    start (a tenant subscribing at 06:10 and sending at 06:20), so it is billed
    to that segment rather than lost.

    A meter whose rows cannot be combined (UNIQUE_COUNT) has no usage here; one its segment's plan prices raises
    `UnbillableMeterError` rather than billing a wrong number.
    """
    totals: list[dict[str, MeterTotal]] = [{} for _ in segments]
    for raw in hours:
        row = UsageHour(*raw)
        index = segment_of_window(segments, row.window_start)
        if index is not None:
            total = totals[index].get(row.meter_slug)
            if total is None:
                total = totals[index][row.meter_slug] = MeterTotal(row.meter_slug, row.aggregation)
            total.add(row)
    result: list[SubscriptionSegment] = []
    for segment, meter_totals in zip(segments, totals):
        priced = {charge.meter_slug for charge in segment.plan.charges}
        usage: dict[str, Decimal] = {}
        for slug, total in meter_totals.items():
            if not total.combinable:
                if slug in priced:
                    raise UnbillableMeterError(slug)
                continue  # not priced: nothing on the invoice depends on it
            if total.value is not None:
                usage[slug] = total.value
        result.append(replace(segment, usage=usage))
    return result
