"""A TTL cache of async lookups that refreshes busy entries before they expire.

An entry is served for ``ttl_s`` after it was loaded, never longer, so whatever the
cache answers (an API key's owner, a tenant's blocked meters) is at most ``ttl_s`` old,
as with a plain TTL cache. But once an entry is past half its life, the next request
for it starts one reload in the background and is answered from the entry: a key in
steady use is reloaded before it expires, and no request waits for the database. With a
plain TTL cache every expiry made all of a tenant's concurrent requests wait for one
PostgreSQL round trip, every few seconds, which showed in the p99 of single events.

Concurrent misses for one key share one lookup. Memory is bounded by ``maxsize``
entries (the oldest loaded is dropped first).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["RefreshAheadCache"]

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RefreshAheadCache(Generic[K, V]):
    def __init__(self, ttl_s: float, maxsize: int, clock: Callable[[], float] = time.monotonic):
        self._ttl_s = ttl_s
        self._refresh_after_s = ttl_s / 2
        self._maxsize = maxsize
        self._clock = clock
        self._entries: dict[K, tuple[V, float]] = {}  # value, clock reading when loaded
        self._loading: dict[K, asyncio.Future] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The cached value of ``key``, else what ``load()`` returns (its exception if it fails)."""
        entry = self._entries.get(key)
        if entry is not None:
            age = self._clock() - entry[1]
            if age < self._ttl_s:
                if age >= self._refresh_after_s and key not in self._loading:
                    self._start_load(key, load)
                return entry[0]
        future = self._loading.get(key) or self._start_load(key, load)
        return await asyncio.shield(future)

    def _start_load(self, key: K, load: Callable[[], Awaitable[V]]) -> asyncio.Future:
        loading = self._loading[key] = asyncio.ensure_future(self._load_into(key, load))
        loading.add_done_callback(_log_failure)
        return loading

    async def _load_into(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        finally:
            del self._loading[key]
        entries = self._entries
        entries.pop(key, None)  # re-inserted last: the eviction order is by load time
        if len(entries) >= self._maxsize:
            del entries[next(iter(entries))]
        entries[key] = (value, self._clock())
        return value


def _log_failure(future: asyncio.Future) -> None:
    # A failed reload leaves the entry to expire; the next miss retries, and a caller that
    # waited for this one got the exception itself.
    if not future.cancelled() and future.exception() is not None:
        log.warning("cache reload failed: %r", future.exception())
