"""The published watermark never goes back (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from api.usage.watermark import advance

T = datetime(2026, 12, 6, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(("previous", "computed", "published"), [
    (None, None, None),
    (None, T, T),
    (T, T + timedelta(seconds=1), T + timedelta(seconds=1)),
    (T, T - timedelta(minutes=5), T),  # a partition lags again: what was included stays included
    (T, None, T),
    (T, T, T),
], ids=["unknown", "first", "forward", "lagging-again", "none-computed", "same"])
def test_advance(previous, computed, published):
    assert advance(previous, computed) == published
