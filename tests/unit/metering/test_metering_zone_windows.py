"""Zone windows, the UTC resolution that builds them, and regrouping fine windows (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from metering.regroup import FinePoint, regroup
from metering.zone_windows import aligned_resolution, cut_hours, window_index, zone_windows

UTC = timezone.utc


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _local(zone: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize(("zone", "start", "end", "window", "lengths_h", "first_utc"), [
    # America/New_York springs forward on 2026-03-08: that day lasts 23 hours.
    ("America/New_York", (2026, 3, 7), (2026, 3, 10), "day", [24, 23, 24], _utc(2026, 3, 7, 5)),
    # Europe/Berlin falls back on 2026-10-25: that day lasts 25 hours.
    ("Europe/Berlin", (2026, 10, 24), (2026, 10, 27), "day", [24, 25, 24], _utc(2026, 10, 23, 22)),
    # A Tokyo month starts at its own midnight, 15:00 UTC the day before.
    ("Asia/Tokyo", (2026, 1, 1), (2026, 3, 1), "month", [31 * 24, 28 * 24], _utc(2025, 12, 31, 15)),
    ("UTC", (2026, 2, 1), (2026, 4, 1), "month", [28 * 24, 31 * 24], _utc(2026, 2, 1)),
    # India is +05:30: days start at 18:30 UTC.
    ("Asia/Kolkata", (2026, 5, 1), (2026, 5, 3), "day", [24, 24], _utc(2026, 4, 30, 18, 30)),
    # Berlin's March month has 743 hours (the spring-forward day has 23).
    ("Europe/Berlin", (2026, 3, 1), (2026, 4, 1), "month", [743], _utc(2026, 2, 28, 23)),
], ids=["ny-spring-forward", "berlin-fall-back", "tokyo-months", "utc-months", "kolkata-half-hour", "berlin-march"])
def test_zone_windows_follow_local_midnights(zone, start, end, window, lengths_h, first_utc):
    edges = zone_windows(_local(zone, *start), _local(zone, *end), window, ZoneInfo(zone))
    assert edges[0] == first_utc
    assert [(b - a) / timedelta(hours=1) for a, b in zip(edges, edges[1:])] == lengths_h


@pytest.mark.parametrize(("zone", "start", "end", "count", "labels"), [
    # The fall-back day has 25 hour windows; 02:00 local appears twice, in two offsets.
    ("Europe/Berlin", (2026, 10, 25), (2026, 10, 26), 25, ["01:00+02:00", "02:00+02:00", "02:00+01:00", "03:00+01:00"]),
    # The spring-forward day has 23: 02:00 local does not exist.
    ("America/New_York", (2026, 3, 8), (2026, 3, 9), 23, ["01:00-05:00", "03:00-04:00", "04:00-04:00", "05:00-04:00"]),
], ids=["berlin-25-hours", "ny-23-hours"])
def test_hour_windows_across_dst_follow_the_instant(zone, start, end, count, labels):
    edges = zone_windows(_local(zone, *start), _local(zone, *end), "hour", ZoneInfo(zone))
    assert len(edges) - 1 == count
    shown = [e.astimezone(ZoneInfo(zone)).isoformat()[11:] for e in edges]
    assert shown[1:5] == [label[:5] + ":00" + label[5:] for label in labels]


def test_range_is_clipped_to_the_callers_bounds():
    zone = ZoneInfo("Europe/Berlin")
    edges = zone_windows(_utc(2026, 6, 1, 10), _utc(2026, 6, 3, 5), "day", zone)
    assert edges == [_utc(2026, 6, 1, 10), _utc(2026, 6, 1, 22), _utc(2026, 6, 2, 22), _utc(2026, 6, 3, 5)]


@pytest.mark.parametrize(("zone", "window", "start", "end", "resolution"), [
    ("UTC", "day", _utc(2026, 1, 1), _utc(2026, 1, 3), "day"),
    ("UTC", "month", _utc(2026, 1, 1), _utc(2026, 3, 1), "day"),
    ("America/New_York", "day", _local("America/New_York", 2026, 3, 7), _local("America/New_York", 2026, 3, 10), "hour"),
    ("Asia/Tokyo", "month", _local("Asia/Tokyo", 2026, 1, 1), _local("Asia/Tokyo", 2026, 3, 1), "hour"),
    ("Asia/Kolkata", "day", _local("Asia/Kolkata", 2026, 5, 1), _local("Asia/Kolkata", 2026, 5, 3), "minute"),
    ("Asia/Kolkata", "hour", _local("Asia/Kolkata", 2026, 5, 1), _local("Asia/Kolkata", 2026, 5, 2), "minute"),
    ("UTC", "minute", _utc(2026, 1, 1), _utc(2026, 1, 1, 1), "minute"),
    ("UTC", "hour", _utc(2026, 1, 1, 0, 0, 30), _utc(2026, 1, 1, 2), None),
], ids=["utc-day", "utc-month", "ny-day", "tokyo-month", "kolkata-day", "kolkata-hour", "minute", "seconds-raw"])
def test_aligned_resolution_is_the_coarsest_that_fits(zone, window, start, end, resolution):
    assert aligned_resolution(zone_windows(start, end, window, ZoneInfo(zone)), window) == resolution


def test_cut_hours_are_the_hours_a_half_hour_zones_edges_fall_inside():
    kolkata = ZoneInfo("Asia/Kolkata")
    edges = zone_windows(_local("Asia/Kolkata", 2026, 5, 1), _local("Asia/Kolkata", 2026, 5, 4), "day", kolkata)
    # Days start at 18:30 UTC: the first hour is clipped to the range, the last ends at it.
    assert cut_hours(edges) == [
        (_utc(2026, 4, 30, 18, 30), _utc(2026, 4, 30, 19)),
        (_utc(2026, 5, 1, 18), _utc(2026, 5, 1, 19)),
        (_utc(2026, 5, 2, 18), _utc(2026, 5, 2, 19)),
        (_utc(2026, 5, 3, 18), _utc(2026, 5, 3, 18, 30)),
    ]


def test_cut_hours_are_empty_when_every_edge_is_on_an_hour():
    tokyo = ZoneInfo("Asia/Tokyo")
    edges = zone_windows(_local("Asia/Tokyo", 2026, 1, 1), _local("Asia/Tokyo", 2026, 1, 8), "day", tokyo)
    assert cut_hours(edges) == []


def test_cut_hours_of_minute_windows_cover_the_whole_range_merged():
    start, end = _utc(2026, 5, 1, 10, 15), _utc(2026, 5, 1, 12, 45)
    edges = [start + timedelta(minutes=m) for m in range(0, 151)]
    assert edges[-1] == end
    assert cut_hours(edges) == [(start, end)]


@pytest.mark.parametrize(("moment", "index"), [
    (_utc(2026, 1, 1), 0), (_utc(2026, 1, 1, 23, 59), 0), (_utc(2026, 1, 2), 1), (_utc(2026, 1, 2, 12), 1),
    (_utc(2026, 1, 3), None), (_utc(2025, 12, 31), None),
])
def test_window_index(moment, index):
    assert window_index([_utc(2026, 1, 1), _utc(2026, 1, 2), _utc(2026, 1, 3)], moment) == index


EDGES = [_utc(2026, 1, 1), _utc(2026, 1, 2), _utc(2026, 1, 3)]


def _point(hour: int, quantity: str, count: int, region: str, subject: str | None = None,
           values: frozenset[str] | None = None) -> FinePoint:
    return FinePoint(_utc(2026, 1, 1) + timedelta(hours=hour), {"region": region, "model": "m"}, Decimal(quantity),
                     count, subject, values=values)


@pytest.mark.parametrize(("aggregation", "points", "group_by", "by_subject", "rows", "total"), [
    ("SUM", [_point(1, "2", 1, "eu"), _point(5, "3", 2, "us"), _point(30, "4", 1, "eu")], [], False,
     [(0, {}, None, "5", 3), (1, {}, None, "4", 1)], ("9", 4)),
    ("SUM", [_point(1, "2", 1, "eu"), _point(5, "3", 2, "us"), _point(6, "1", 1, "eu")], ["region"], False,
     [(0, {"region": "eu"}, None, "3", 2), (0, {"region": "us"}, None, "3", 2)], ("6", 4)),
    # AVG: a fine point holds its values' sum; the window's mean is the sum over all events.
    ("AVG", [_point(1, "10", 2, "eu"), _point(2, "2", 2, "eu")], [], False, [(0, {}, None, "3", 4)], ("3", 4)),
    ("MAX", [_point(1, "10", 2, "eu"), _point(2, "12", 1, "eu")], [], False, [(0, {}, None, "12", 3)], ("12", 3)),
    ("COUNT", [_point(1, "2", 2, "eu", "a"), _point(2, "1", 1, "eu", "b"), _point(3, "1", 1, "us", "a")], [], True,
     [(0, {}, "a", "3", 3), (0, {}, "b", "1", 1)], ("4", 4)),
    # Distinct values: the union, not the sum of the windows' counts.
    ("UNIQUE_COUNT", [_point(1, "2", 2, "eu", values=frozenset({"x", "y"})),
                      _point(2, "2", 2, "eu", values=frozenset({"y", "z"})),
                      _point(25, "1", 1, "eu", values=frozenset({"x"}))], [], False,
     [(0, {}, None, "3", 4), (1, {}, None, "1", 1)], ("3", 5)),
], ids=["sum-days", "sum-by-region", "avg-merges-sums", "max", "count-by-subject", "unique-union"])
def test_regroup(aggregation, points, group_by, by_subject, rows, total):
    got, meter_total = regroup("m", aggregation, points, EDGES, group_by, by_subject)
    assert [(EDGES.index(r.window_start), r.group, r.subject, str(r.quantity), r.event_count) for r in got] == rows
    assert (str(meter_total.quantity), meter_total.event_count) == total
