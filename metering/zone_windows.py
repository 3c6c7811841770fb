"""Windows of a caller's time zone, and which UTC resolution can build them. Pure.

A day or month in a zone starts at that zone's local midnight, so an Asia/Tokyo month
starts at 15:00 UTC the day before, and a day across a DST change lasts 23 or 25 hours.
Windows are computed here with zoneinfo; usage is then read per UTC window of the
coarsest resolution whose boundaries all fall on the zone's window edges (hours for
whole-hour offsets, minutes for India's +05:30), and those fine windows are added into
the zone's (`metering.regroup`). Minutes are not stored, only read from raw events, so a
half-hour zone's days take hours from the rollups and only the hours its window edges cut
(`cut_hours`) minute by minute.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta, timezone
from typing import Literal
from zoneinfo import ZoneInfo

from .meter import RESOLUTION_STEP, Resolution

__all__ = ["ZoneWindow", "ZONE_WINDOWS", "zone_windows", "aligned_resolution", "cut_hours", "window_index"]

ZoneWindow = Literal["minute", "hour", "day", "month"]
ZONE_WINDOWS: tuple[ZoneWindow, ...] = ("minute", "hour", "day", "month")
_FINE_FIRST: tuple[Resolution, ...] = ("minute", "hour", "day")


def _floor_local(moment: datetime, window: ZoneWindow, zone: ZoneInfo) -> datetime:
    """The local wall-clock start of the window holding `moment` (naive, in `zone`)."""
    local = moment.astimezone(zone).replace(tzinfo=None)
    if window == "minute":
        return local.replace(second=0, microsecond=0)
    if window == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day.replace(day=1) if window == "month" else day


def _next_local(local: datetime, window: ZoneWindow) -> datetime:
    if window == "minute":
        return local + timedelta(minutes=1)
    if window == "hour":
        return local + timedelta(hours=1)
    if window == "day":
        return local + timedelta(days=1)
    return local.replace(year=local.year + local.month // 12, month=local.month % 12 + 1)


def _instant(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time as a UTC instant. A time skipped by a DST change (a local midnight
    that does not exist) resolves with fold=0 to the instant after the gap's start; an
    ambiguous one takes its first occurrence, so windows never overlap."""
    return local.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)


def _local_hours(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """Hour and minute windows follow the instant, not the wall clock: a 25-hour day has
    25 hour windows, two of them labelled 01:00 (in two offsets)."""
    step = timedelta(hours=1)
    local = start.astimezone(zone)
    # The start of the local hour holding `start`: the instant minus the minutes past it.
    first = start.astimezone(timezone.utc) - timedelta(minutes=local.minute, seconds=local.second,
                                                       microseconds=local.microsecond)
    edges = [first]
    while edges[-1] < end:
        edges.append(edges[-1] + step)
    return edges


def zone_windows(start: datetime, end: datetime, window: ZoneWindow, zone: ZoneInfo) -> list[datetime]:
    """The edges (UTC instants) of the zone's windows covering [start, end): edges[i] to
    edges[i+1] is one window. The first and last windows are clipped to the range."""
    if start >= end:
        return []
    if window in ("minute", "hour"):
        if window == "minute":
            first = start.astimezone(timezone.utc).replace(second=0, microsecond=0)
            edges = [first]
            while edges[-1] < end:
                edges.append(edges[-1] + timedelta(minutes=1))
        else:
            edges = _local_hours(start, end, zone)
    else:
        local = _floor_local(start, window, zone)
        edges = [_instant(local, zone)]
        while edges[-1] < end:
            local = _next_local(local, window)
            edges.append(_instant(local, zone))
    edges[0] = max(edges[0], start.astimezone(timezone.utc))
    edges[-1] = min(edges[-1], end.astimezone(timezone.utc))
    return edges


def _aligned(moment: datetime, resolution: Resolution) -> bool:
    step = int(RESOLUTION_STEP[resolution].total_seconds())
    return moment.timestamp() % step == 0


def aligned_resolution(edges: list[datetime], window: ZoneWindow) -> Resolution | None:
    """The coarsest UTC resolution, not coarser than the window, on which every edge
    falls; None when even minutes do not align (a range with seconds): raw events."""
    best = None
    for resolution in _FINE_FIRST:
        if window != "month" and RESOLUTION_STEP[resolution] > RESOLUTION_STEP[window]:
            break
        if all(_aligned(edge, resolution) for edge in edges):
            best = resolution
    return best


def cut_hours(edges: list[datetime]) -> list[tuple[datetime, datetime]]:
    """The parts of [edges[0], edges[-1]) that whole UTC hours cannot serve: for each edge
    inside an hour (not on its start), that hour clipped to the range; in order, merged.
    Every other hour of the range lies within one window, so its hour row adds up whole."""
    spans: list[tuple[datetime, datetime]] = []
    for edge in edges:
        if _aligned(edge, "hour"):
            continue
        hour = edge.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        span = (max(hour, edges[0]), min(hour + timedelta(hours=1), edges[-1]))
        if spans and span[0] <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], span[1]))
        elif span[0] < span[1]:
            spans.append(span)
    return spans


def window_index(edges: list[datetime], moment: datetime) -> int | None:
    """Which window holds `moment` (binary search), None outside [edges[0], edges[-1])."""
    if not edges or moment < edges[0] or moment >= edges[-1]:
        return None
    return bisect.bisect_right(edges, moment) - 1
