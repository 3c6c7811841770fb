"""Per-tenant token buckets of events per second, with a burst. Pure: the clock is injected.

A request of ``n`` events takes ``n`` tokens or none: it is admitted whole or answered
429 with the seconds until enough tokens will have refilled (``Retry-After``). A request
larger than the burst needs a full bucket, so it is never refused forever.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TokenBucket", "TenantRateLimiter"]


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float  # capacity
    tokens: float
    updated: float  # clock reading of the last refill

    def try_take(self, n: float, now: float) -> float:
        """0.0 when ``n`` tokens were taken, else the seconds until they will be there."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = max(self.updated, now)
        need = min(n, self.burst)
        if self.tokens >= need:
            self.tokens -= need
            return 0.0
        return (need - self.tokens) / self.rate


class TenantRateLimiter:
    """One bucket per tenant; the least recently used are dropped beyond ``max_tenants``.

    A dropped bucket comes back full, which only ever errs towards admitting.
    """

    def __init__(self, rate: float, burst: float, clock: Callable[[], float], max_tenants: int = 100_000):
        self._rate, self._burst, self._clock = rate, burst, clock
        self._max_tenants = max_tenants
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def admit(self, tenant: str, n: int) -> int:
        """0 when admitted, else the whole seconds to wait (>= 1) for ``Retry-After``."""
        now = self._clock()
        bucket = self._buckets.get(tenant)
        if bucket is None:
            bucket = self._buckets[tenant] = TokenBucket(self._rate, self._burst, self._burst, now)
            if len(self._buckets) > self._max_tenants:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(tenant)
        wait = bucket.try_take(n, now)
        return 0 if wait == 0.0 else max(1, math.ceil(wait))
