"""Pure usage aggregation: events and meter definitions in, per-window deltas out.

No I/O and no clock: the sink decides what is new (dedup) and where deltas go.

What a delta means depends on the meter's aggregation, and so does how two deltas of
the same window combine (`UsageDelta.merge`, mirrored by the PostgreSQL upsert):

- COUNT, SUM: `quantity` adds up.
- MAX: `quantity` is the larger of the two.
- LATEST: `quantity` is the value of the event with the greatest (time, id): ties on
  time are broken by id so every replay and every order of arrival picks the same one.
- UNIQUE_COUNT: distinct values cannot be added across batches or windows, so a delta
  carries the values themselves (`unique_values`) and `quantity` stays 0; ClickHouse
  keeps them as uniqExact states (warehouse/clickhouse/ddl.py).

`event_count` always adds up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from .event import UsageEvent
from .meter import (
    NO_GROUP, RESOLUTION_STEP, RESOLUTIONS, Aggregation, InvalidMeterValue, Meter, Resolution, WindowKey,
    extract_property, extract_value, group_key, group_values, window_start,
)

__all__ = ["UsageDelta", "DeadLetter", "AggregationResult", "aggregate", "combine_total"]


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
        if aggregation == "COUNT":
            self.quantity += 1
        elif aggregation == "SUM":
            self.quantity += value
        elif aggregation == "MAX":
            self.quantity = value if self.event_count == 0 else max(self.quantity, value)
        elif aggregation == "LATEST":
            if self.latest_at is None or (event.time, event.id) > (self.latest_at, self.latest_id):
                self.quantity, self.latest_at, self.latest_id = value, event.time, event.id
        else:  # UNIQUE_COUNT
            self.unique_values.add(value)
        self.event_count += 1

    def merge(self, aggregation: Aggregation, other: UsageDelta) -> None:
        """Absorb another window's delta (a finer window inside this one), by the same rules."""
        if other.event_count == 0:
            return
        if aggregation in ("COUNT", "SUM"):
            self.quantity += other.quantity
        elif aggregation == "MAX":
            self.quantity = other.quantity if self.event_count == 0 else max(self.quantity, other.quantity)
        elif aggregation == "LATEST":
            if self.latest_at is None or (other.latest_at, other.latest_id) > (self.latest_at, self.latest_id):
                self.quantity, self.latest_at, self.latest_id = other.quantity, other.latest_at, other.latest_id
        else:
            self.unique_values |= other.unique_values
        self.event_count += other.event_count


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


def _meter_value(meter: Meter, data: Mapping[str, Any]) -> Decimal | str | None:
    if meter.aggregation == "COUNT":
        return None
    if meter.aggregation == "UNIQUE_COUNT":
        return extract_property(data, meter.value_path or "")
    return extract_value(data, meter.value_path or "")


def aggregate(events: Iterable[UsageEvent], meters: Iterable[Meter],
              resolutions: Sequence[Resolution] = RESOLUTIONS) -> AggregationResult:
    """Each event into every meter of its tenant that counts its type, per group and window.

    Events go into the finest window only; coarser windows merge those deltas, so the
    per-event work does not grow with the number of resolutions."""
    all_meters = list(meters)
    by_type: dict[tuple[uuid.UUID, str], list[tuple[int, Meter]]] = {}
    for index, meter in enumerate(all_meters):
        by_type.setdefault((meter.tenant_id, meter.event_type), []).append((index, meter))
    ordered = sorted(resolutions, key=RESOLUTION_STEP.__getitem__)
    if not ordered:
        return AggregationResult()
    finest = ordered[0]

    result = AggregationResult()
    # Keyed by (meter index, window, group) while looping over events: hashing a tenant's
    # UUID or a dataclass per event would cost more than the aggregation itself. Events of
    # one tenant usually come together, so its meters by type are looked up once per run.
    fine: dict[tuple[int, datetime, str], UsageDelta] = {}
    tenant_types: dict[str, list[tuple[int, Meter]]] = {}
    current_tenant = None
    for event in events:
        if event.tenant_id is not current_tenant:
            current_tenant = event.tenant_id
            tenant_types = {event_type: counted for (t, event_type), counted in by_type.items() if t == current_tenant}
        counted = tenant_types.get(event.type)
        if not counted:
            continue
        moment = event.time
        if moment.tzinfo is not timezone.utc:
            moment = moment.astimezone(timezone.utc)
        start = window_start(moment, finest)
        for index, meter in counted:
            try:
                value = _meter_value(meter, event.data)
            except InvalidMeterValue as exc:
                result.dead_letters.append(DeadLetter(event, meter.slug, str(exc)))
                continue
            group = group_key(group_values(event.data, meter.group_by)) if meter.group_by else NO_GROUP
            key = (index, start, group)
            delta = fine.get(key)
            if delta is None:
                delta = fine[key] = UsageDelta()
            delta.add(meter.aggregation, event, value)
    windows: dict[Resolution, dict[tuple[int, datetime, str], UsageDelta]] = {finest: fine}
    for resolution in ordered[1:]:
        coarse = windows[resolution] = {}
        for (index, start, group), delta in fine.items():
            key = (index, window_start(start, resolution), group)
            target = coarse.get(key)
            if target is None:
                target = coarse[key] = UsageDelta()
            target.merge(all_meters[index].aggregation, delta)
    for index in {index for index, _, _ in fine}:
        meter = all_meters[index]
        result.aggregations[meter.tenant_id, meter.slug] = meter.aggregation
    for resolution, deltas in windows.items():
        for (index, start, group), delta in deltas.items():
            meter = all_meters[index]
            result.deltas[WindowKey(meter.tenant_id, meter.slug, start, group, resolution)] = delta
    return result


def combine_total(aggregation: Aggregation,
                  windows: Iterable[tuple[Decimal, datetime | None, str | None]]) -> Decimal | None:
    """One number for several windows (quantity, latest_at, latest_id): a sum for COUNT and
    SUM, the maximum for MAX, the latest window's value for LATEST. None for UNIQUE_COUNT,
    whose windows cannot be combined without their values."""
    rows = list(windows)
    if aggregation == "UNIQUE_COUNT":
        return None
    if not rows:
        return Decimal(0)
    if aggregation == "MAX":
        return max(q for q, _, _ in rows)
    if aggregation == "LATEST":
        epoch = datetime.min.replace(tzinfo=timezone.utc)
        return max(rows, key=lambda r: (r[1] or epoch, r[2] or ""))[0]
    return sum((q for q, _, _ in rows), Decimal(0))
