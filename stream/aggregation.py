"""Pure usage aggregation: events and meter definitions in, hourly deltas out.

No I/O and no clock: the sink decides what is new (dedup) and where deltas go.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

__all__ = ["Meter", "UsageEvent", "WindowKey", "UsageDelta", "DeadLetter", "AggregationResult",
           "extract_value", "hour_window", "aggregate", "InvalidMeterValue", "parse_event_time"]

Aggregation = Literal["COUNT", "SUM"]


@dataclass(frozen=True)
class Meter:
    tenant_id: uuid.UUID
    slug: str
    event_type: str
    aggregation: Aggregation
    value_path: str | None = None


@dataclass(frozen=True)
class UsageEvent:
    tenant_id: uuid.UUID
    id: str
    type: str
    subject: str
    time: datetime
    data: Mapping[str, Any]
    source: str = ""


@dataclass(frozen=True)
class WindowKey:
    tenant_id: uuid.UUID
    meter_slug: str
    window_start: datetime


@dataclass
class UsageDelta:
    quantity: Decimal = Decimal(0)
    event_count: int = 0


@dataclass(frozen=True)
class DeadLetter:
    event: UsageEvent
    meter_slug: str
    reason: str


@dataclass
class AggregationResult:
    deltas: dict[WindowKey, UsageDelta] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class InvalidMeterValue(ValueError):
    pass


def parse_event_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("time must carry a UTC offset")
    return parsed.astimezone(timezone.utc)


def hour_window(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def extract_value(data: Mapping[str, Any], path: str) -> Decimal:
    """Read a number at a dotted path ("usage.tokens"); bools and non-finite numbers are refused."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise InvalidMeterValue(f"data.{path} is missing")
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, (int, float, str)):
        raise InvalidMeterValue(f"data.{path} is not a number")
    try:
        # Via str: a JSON float 0.1 must count as 0.1, not its binary expansion.
        value = Decimal(str(node))
    except InvalidOperation as exc:
        raise InvalidMeterValue(f"data.{path} is not a number") from exc
    if not value.is_finite():
        raise InvalidMeterValue(f"data.{path} is not a finite number")
    return value


def aggregate(events: Iterable[UsageEvent], meters: Iterable[Meter]) -> AggregationResult:
    """Sum each event into every meter of its tenant that counts its type, per hour."""
    by_type: dict[tuple[uuid.UUID, str], list[Meter]] = {}
    for meter in meters:
        by_type.setdefault((meter.tenant_id, meter.event_type), []).append(meter)

    result = AggregationResult()
    for event in events:
        for meter in by_type.get((event.tenant_id, event.type), ()):
            if meter.aggregation == "COUNT":
                amount = Decimal(1)
            else:
                try:
                    amount = extract_value(event.data, meter.value_path or "")
                except InvalidMeterValue as exc:
                    result.dead_letters.append(DeadLetter(event, meter.slug, str(exc)))
                    continue
            delta = result.deltas.setdefault(WindowKey(event.tenant_id, meter.slug, hour_window(event.time)), UsageDelta())
            delta.quantity += amount
            delta.event_count += 1
    return result
