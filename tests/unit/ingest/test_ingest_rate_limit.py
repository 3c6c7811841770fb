import pytest

from ingest.rate_limit import TenantRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("takes", "advance", "expected"), [
    ([10], 0, [0]),  # within the burst
    ([10, 1], 0, [0, 1]),  # burst spent: 1 token short at 5/s -> 1 s
    ([10, 5], 1.0, [0, 0]),  # refilled 5 in a second
    ([10, 6], 1.0, [0, 1]),
    ([10, 10], 0, [0, 2]),  # 10 short at 5/s
    ([25], 0, [0]),  # larger than the burst: admitted on a full bucket
    ([5, 25], 0, [0, 1]),
    ([10, 10], 100.0, [0, 0]),  # refill never exceeds the burst
], ids=["burst", "spent", "refill", "refill-short", "wait-2s", "oversize", "oversize-needs-full", "cap"])
def test_token_bucket(takes, advance, expected):
    clock = Clock()
    limiter = TenantRateLimiter(rate=5, burst=10, clock=clock)
    results = []
    for i, n in enumerate(takes):
        if i:
            clock.now += advance
        results.append(limiter.admit("t", n))
    assert results == expected


def test_tenants_have_their_own_buckets_and_the_table_is_bounded():
    clock = Clock()
    limiter = TenantRateLimiter(rate=1, burst=1, clock=clock, max_tenants=2)
    assert limiter.admit("a", 1) == 0
    assert limiter.admit("a", 1) == 1
    assert limiter.admit("b", 1) == 0
    assert limiter.admit("c", 1) == 0  # evicts "a", the least recently used
    assert limiter.admit("a", 1) == 0  # back with a full bucket


def test_refused_request_takes_no_tokens():
    clock = Clock()
    limiter = TenantRateLimiter(rate=10, burst=10, clock=clock)
    assert limiter.admit("t", 8) == 0
    assert limiter.admit("t", 5) == 1
    assert limiter.admit("t", 2) == 0
