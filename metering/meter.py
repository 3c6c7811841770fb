"""The meter: what it counts, its windows, and how an event's value and group are read. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import orjson

if TYPE_CHECKING:
    from .aggregations import Aggregation

__all__ = ["Meter", "WindowKey", "Resolution", "RESOLUTIONS", "STORED_RESOLUTIONS", "NO_GROUP",
           "RESOLUTION_STEP", "InvalidMeterValue", "window_start", "hour_window", "extract_value",
           "extract_property", "group_values", "group_key"]

Resolution = Literal["minute", "hour", "day"]
RESOLUTIONS: tuple[Resolution, ...] = ("minute", "hour", "day")
# The windows the stream keeps (PostgreSQL's window tables, ClickHouse's rollups). Minutes
# are read from raw events: with scattered event times a transaction touched nearly every
# minute of every meter, ~0.4 minute-window upserts per event, about a quarter of the stream's
# CPU per event (bench/README.md, "Issue 16: minute windows read from raw events").
STORED_RESOLUTIONS: tuple[Resolution, ...] = ("hour", "day")
NO_GROUP = "{}"  # the group key of a meter without group_by
RESOLUTION_STEP: dict[Resolution, timedelta] = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1),
                                                "day": timedelta(days=1)}


@dataclass(frozen=True)
class Meter:
    tenant_id: uuid.UUID
    slug: str
    event_type: str
    aggregation: Aggregation
    value_path: str | None = None
    # Dotted paths into `data` whose values split the usage (e.g. "region", "model").
    group_by: tuple[str, ...] = ()
    # Windows starting at or after this instant hold every event of the meter in the
    # rollups; earlier ones may miss events processed before the worker knew the meter,
    # so readers use raw events there (None: not yet applied by a worker).
    rollup_from: datetime | None = None


class WindowKey(NamedTuple):
    """A NamedTuple, as UsageEvent: up to three are built per event and window."""

    tenant_id: uuid.UUID
    meter_slug: str
    window_start: datetime
    group_key: str = NO_GROUP
    resolution: Resolution = "hour"


class InvalidMeterValue(ValueError):
    pass


def window_start(moment: datetime, resolution: Resolution) -> datetime:
    if moment.tzinfo is not timezone.utc:  # decoded events are UTC already: skip the conversion
        moment = moment.astimezone(timezone.utc)
    if resolution == "minute":
        return moment.replace(second=0, microsecond=0)
    if resolution == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def hour_window(moment: datetime) -> datetime:
    return window_start(moment, "hour")


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise InvalidMeterValue(f"data.{path} is missing")
        node = node[part]
    return node


def extract_value(data: Mapping[str, Any], path: str, _missing: Any = object()) -> Decimal:
    """Read a number at a dotted path ("usage.tokens"); bools and non-finite numbers are refused."""
    # Runs per event and meter: a top-level key of a plain dict is one lookup, and an int is
    # exact and finite as it is (0.75 -> 0.25 µs for {"tokens": 42}).
    node = data.get(path, _missing) if type(data) is dict and "." not in path else _lookup(data, path)
    if node is _missing:
        raise InvalidMeterValue(f"data.{path} is missing")
    if type(node) is int:
        return Decimal(node)
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


def _scalar_text(node: Any) -> str | None:
    """A JSON scalar as the text it is counted or grouped by: strings as they are, other
    scalars as their JSON text (ClickHouse's JSONExtractRaw gives the same); None for null."""
    if node is None:
        return None
    if isinstance(node, str):
        return node
    if isinstance(node, (bool, int, float)):
        return orjson.dumps(node).decode()
    raise InvalidMeterValue("not a scalar")


def extract_property(data: Mapping[str, Any], path: str) -> str:
    """The value UNIQUE_COUNT counts: any JSON scalar but null."""
    try:
        text = _scalar_text(_lookup(data, path))
    except InvalidMeterValue as exc:
        raise InvalidMeterValue(f"data.{path} is missing" if "missing" in str(exc) else
                                f"data.{path} is not a string or number") from exc
    if text is None:
        raise InvalidMeterValue(f"data.{path} is missing")
    return text


def group_values(data: Mapping[str, Any], paths: Sequence[str]) -> dict[str, str | None]:
    """The event's value for each group-by path; missing, null or non-scalar values group as null."""
    values: dict[str, str | None] = {}
    for path in paths:
        try:
            values[path] = _scalar_text(_lookup(data, path))
        except InvalidMeterValue:
            values[path] = None
    return values


def group_key(values: Mapping[str, str | None]) -> str:
    """Canonical text of a group (sorted keys): the same group always has the same key."""
    return orjson.dumps(dict(values), option=orjson.OPT_SORT_KEYS).decode() if values else NO_GROUP
