"""Load shedding: bounded requests and bytes in flight, refused at once beyond the bound.

Bytes are reserved when a request's body starts arriving and released only when its
records are settled in the producer (acknowledged or expired), which can be after the
request was answered 503: so the bound also covers records parked in the producer
while the broker is away. Single-threaded (one event loop), so no locks.
"""

from __future__ import annotations

__all__ = ["InFlightBudget"]


class InFlightBudget:
    def __init__(self, max_requests: int, max_bytes: int):
        self.max_requests, self.max_bytes = max_requests, max_bytes
        self.requests = 0
        self.bytes = 0

    def try_enter(self) -> bool:
        if self.requests >= self.max_requests:
            return False
        self.requests += 1
        return True

    def leave(self) -> None:
        self.requests -= 1

    def try_reserve(self, n: int) -> bool:
        # One request alone may always use the whole budget, or a body as large as the
        # budget could never be accepted.
        if self.bytes and self.bytes + n > self.max_bytes:
            return False
        self.bytes += n
        return True

    def release(self, n: int) -> None:
        self.bytes -= n
