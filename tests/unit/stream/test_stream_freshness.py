"""Consumer lag and the freshness watermark from committed positions (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from metering.freshness import freshness

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
T1 = NOW - timedelta(seconds=30)
T2 = NOW - timedelta(seconds=5)


@pytest.mark.parametrize(("ends", "positions", "lags", "lag_seconds", "watermark"), [
    ({0: 10, 1: 4}, {0: (10, T1), 1: (4, T2)}, [0, 0], [0, 0], NOW),
    ({0: 10, 1: 4}, {0: (7, T1), 1: (4, T2)}, [3, 0], [30, 0], T1),
    ({0: 10, 1: 9}, {0: (7, T1), 1: (8, T2)}, [3, 1], [30, 5], T1),
    ({0: 0, 1: 0}, {}, [0, 0], [0, 0], NOW),
    ({0: 5}, {}, [5], [None], None),
    ({0: 5}, {0: (6, T1)}, [0], [0], NOW),
], ids=["caught-up", "one-behind", "both-behind", "empty-topic", "nothing-applied", "end-offset-stale"])
def test_stream_freshness(ends, positions, lags, lag_seconds, watermark):
    result = freshness(ends, positions, NOW)
    assert [p.lag for p in result.partitions] == lags
    # Caught up is 0 s whatever the last record's age; behind, the age of the last applied record.
    assert [p.lag_seconds for p in result.partitions] == lag_seconds
    assert result.watermark == watermark
