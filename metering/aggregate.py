"""Pure usage aggregation: events and meter definitions in, per-window deltas out.

No I/O and no clock: the sink decides what is new (dedup) and where deltas go. What a
delta's quantity means, and how two deltas of one window merge, is the meter's
aggregation's (metering.aggregations; mirrored by the PostgreSQL upsert). `event_count`
always adds up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

from .aggregations import Aggregation, PeriodTotal, aggregation_for
from .event import UsageEvent
from .meter import (
    NO_GROUP, RESOLUTION_STEP, RESOLUTIONS, InvalidMeterValue, Meter, Resolution, WindowKey, group_key,
    group_values, window_start,
)

__all__ = ["UsageDelta", "DeadLetter", "AggregationResult", "aggregate", "combine_total", "period_total"]


@dataclass(slots=True)
class UsageDelta:
    quantity: Decimal = Decimal(0)
    event_count: int = 0
    # LATEST: the (time, id) of the event whose value `quantity` is.
    latest_at: datetime | None = None
    latest_id: str | None = None
    # UNIQUE_COUNT: the distinct values seen in this window.
    unique_values: set[str] = field(default_factory=set)

    def add(self, aggregation: Aggregation, event: UsageEvent, value: Decimal | str | None) -> None:
        """Count one event whose meter value is `value` (None for COUNT)."""
        aggregation_for(aggregation).add(self, event, value)

    def merge(self, aggregation: Aggregation, other: UsageDelta) -> None:
        """Absorb another window's delta (a finer window inside this one), by the same rules."""
        if other.event_count == 0:
            return
        if self.event_count == 0:
            self.quantity, self.latest_at, self.latest_id = other.quantity, other.latest_at, other.latest_id
            self.unique_values |= other.unique_values
            self.event_count = other.event_count
            return
        aggregation_for(aggregation).merge(self, other)

    def copy(self) -> UsageDelta:
        return UsageDelta(self.quantity, self.event_count, self.latest_at, self.latest_id, set(self.unique_values))


@dataclass(frozen=True)
class DeadLetter:
    event: UsageEvent
    meter_slug: str
    reason: str


@dataclass
class AggregationResult:
    deltas: dict[WindowKey, UsageDelta] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # The aggregation of each (tenant, meter slug) in `deltas`, so writers know how to merge them.
    aggregations: dict[tuple[uuid.UUID, str], Aggregation] = field(default_factory=dict)


def aggregate(events: Iterable[UsageEvent], meters: Iterable[Meter],
              resolutions: Sequence[Resolution] = RESOLUTIONS) -> AggregationResult:
    """Each event into every meter of its tenant that counts its type, per group and window.

    Events go into the finest window only; coarser windows merge those deltas, so the
    per-event work does not grow with the number of resolutions."""
    all_meters = list(meters)
    kinds = [aggregation_for(meter.aggregation) for meter in all_meters]
    # Per tenant and event type, each meter's value reader and adder, bound once: the loop
    # below runs per event and meter, and looks a tenant up once per run of its events.
    by_type: dict[uuid.UUID, dict[str, list[tuple[int, Meter, Callable, Callable]]]] = {}
    for index, meter in enumerate(all_meters):
        by_type.setdefault(meter.tenant_id, {}).setdefault(meter.event_type, []).append(
            (index, meter, kinds[index].read_value, kinds[index].add))
    ordered = sorted(resolutions, key=RESOLUTION_STEP.__getitem__)
    if not ordered:
        return AggregationResult()
    finest = ordered[0]

    result = AggregationResult()
    # Keyed by (meter index, window, group) while looping over events: hashing a tenant's
    # UUID or a dataclass per event would cost more than the aggregation itself. Events of
    # one tenant usually come together, so its meters by type are looked up once per run.
    fine: dict[tuple[int, datetime, str], UsageDelta] = {}
    tenant_types: dict[str, list[tuple[int, Meter, Callable, Callable]]] = {}
    current_tenant = None
    by_minute, by_hour = finest == "minute", finest == "hour"
    starts_by_fields: dict[tuple[int, ...], datetime] = {}
    for event in events:
        if event.tenant_id is not current_tenant:
            current_tenant = event.tenant_id
            tenant_types = by_type.get(current_tenant, {})
        counted = tenant_types.get(event.type)
        if not counted:
            continue
        moment = event.time
        if moment.tzinfo is not timezone.utc:
            moment = moment.astimezone(timezone.utc)
        if by_minute or by_hour:
            # One datetime per distinct window, found by its fields: `replace` and hashing a
            # new aware datetime cost ~1.3 µs per event, this lookup ~0.3 (the one object's
            # hash is cached, so the window keys below hash fast too).
            fields = ((moment.year, moment.month, moment.day, moment.hour, moment.minute) if by_minute
                      else (moment.year, moment.month, moment.day, moment.hour))
            start = starts_by_fields.get(fields)
            if start is None:
                start = starts_by_fields[fields] = window_start(moment, finest)
        else:
            start = window_start(moment, finest)
        for index, meter, read_value, add in counted:
            try:
                value = read_value(event.data, meter.value_path)
            except InvalidMeterValue as exc:
                result.dead_letters.append(DeadLetter(event, meter.slug, str(exc)))
                continue
            group = group_key(group_values(event.data, meter.group_by)) if meter.group_by else NO_GROUP
            key = (index, start, group)
            delta = fine.get(key)
            if delta is None:
                delta = fine[key] = UsageDelta()
            add(delta, event, value)
    windows: dict[Resolution, dict[tuple[int, datetime, str], UsageDelta]] = {finest: fine}
    for resolution in ordered[1:]:
        coarse = windows[resolution] = {}
        starts: dict[datetime, datetime] = {}  # fine windows share few coarse starts
        for (index, start, group), delta in fine.items():
            coarse_start = starts.get(start)
            if coarse_start is None:
                coarse_start = starts[start] = window_start(start, resolution)
            key = (index, coarse_start, group)
            target = coarse.get(key)
            if target is None:
                coarse[key] = delta.copy()
            else:
                kinds[index].merge(target, delta)
    for index in {index for index, _, _ in fine}:
        meter = all_meters[index]
        result.aggregations[meter.tenant_id, meter.slug] = meter.aggregation
    for resolution, deltas in windows.items():
        for (index, start, group), delta in deltas.items():
            meter = all_meters[index]
            result.deltas[WindowKey(meter.tenant_id, meter.slug, start, group, resolution)] = delta
    return result


def period_total(aggregation: Aggregation, windows: Iterable) -> Decimal | None:
    """One value for several stored windows of a meter (objects with quantity, event_count,
    latest_at and latest_id: usage_hourly rows, usage points), by the meter's aggregation;
    None when its windows cannot be combined (UNIQUE_COUNT)."""
    kind = aggregation_for(aggregation)
    total = PeriodTotal()
    for w in windows:
        kind.absorb(total, w.quantity, w.event_count, w.latest_at, w.latest_id)
    return kind.total_value(total)


def combine_total(aggregation: Aggregation,
                  windows: Iterable[tuple[Decimal, datetime | None, str | None]]) -> Decimal | None:
    """`period_total` over (quantity, latest_at, latest_id[, event_count]) tuples."""
    kind = aggregation_for(aggregation)
    total = PeriodTotal()
    for quantity, latest_at, latest_id, *count in windows:
        kind.absorb(total, quantity, count[0] if count else 0, latest_at, latest_id)
    return kind.total_value(total)
