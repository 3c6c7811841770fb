"""Which data answers a usage query: the coarsest complete rollup, or raw events (pure).
Rollups hold hours and days (metering.STORED_RESOLUTIONS): per-minute windows, and ranges
aligned to minutes only, are read from raw events."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from metering import Meter
from warehouse.clickhouse.queries import rollup_resolution

DAY = datetime(2026, 11, 1, tzinfo=timezone.utc)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def meter(rollup_from: datetime | None) -> Meter:
    return Meter(uuid.UUID(int=1), "m", "e", "SUM", "v", (), rollup_from)


@pytest.mark.parametrize(("rollup_from", "start", "end", "window", "expected"), [
    (EPOCH, DAY, DAY + timedelta(days=30), "hour", "hour"),
    (EPOCH, DAY, DAY + timedelta(days=30), "day", "day"),
    (EPOCH, DAY + timedelta(hours=3), DAY + timedelta(days=30), "day", "hour"),
    (EPOCH, DAY + timedelta(minutes=3), DAY + timedelta(days=1), "hour", None),
    (EPOCH, DAY + timedelta(seconds=3), DAY + timedelta(days=1), "hour", None),
    (EPOCH, DAY, DAY + timedelta(days=1), "minute", None),
    (None, DAY, DAY + timedelta(days=1), "hour", None),
    (DAY + timedelta(hours=5, microseconds=1), DAY, DAY + timedelta(days=1), "hour", None),
    (DAY + timedelta(hours=5, microseconds=1), DAY + timedelta(hours=6), DAY + timedelta(days=1), "hour", "hour"),
], ids=["month-per-hour", "month-per-day", "hour-aligned-per-day", "minute-aligned-raw", "unaligned-raw",
        "minute-window-raw", "meter-not-applied-raw", "range-before-rollup-from-raw",
        "range-after-rollup-from"])
def test_rollup_resolution(rollup_from, start, end, window, expected):
    assert rollup_resolution(meter(rollup_from), start, end, window) == expected
