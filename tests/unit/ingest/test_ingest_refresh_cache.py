"""RefreshAheadCache with an injected clock and counted loads."""

from __future__ import annotations

import asyncio

import pytest

from ingest.refresh_cache import RefreshAheadCache


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counting_load(calls: list[str], value: str, gate: asyncio.Event | None = None):
    async def load() -> str:
        calls.append(value)
        if gate is not None:
            await gate.wait()
        return value
    return load


async def test_fresh_entries_are_served_without_a_load():
    clock, calls = Clock(), []
    cache = RefreshAheadCache(ttl_s=10, maxsize=10, clock=clock)
    assert await cache.get("k", counting_load(calls, "v1")) == "v1"
    clock.now = 4.9
    assert await cache.get("k", counting_load(calls, "v2")) == "v1"
    assert calls == ["v1"]


async def test_past_half_life_answers_at_once_and_reloads_in_the_background():
    clock, calls = Clock(), []
    cache = RefreshAheadCache(ttl_s=10, maxsize=10, clock=clock)
    await cache.get("k", counting_load(calls, "v1"))
    clock.now = 6
    gate = asyncio.Event()
    assert await cache.get("k", counting_load(calls, "v2", gate)) == "v1"  # not waiting for the reload
    assert await cache.get("k", counting_load(calls, "v3")) == "v1"  # one reload at a time
    gate.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await cache.get("k", counting_load(calls, "v4")) == "v2"
    assert calls == ["v1", "v2"]


async def test_an_expired_entry_is_never_served():
    clock, calls = Clock(), []
    cache = RefreshAheadCache(ttl_s=10, maxsize=10, clock=clock)
    await cache.get("k", counting_load(calls, "v1"))
    clock.now = 10
    assert await cache.get("k", counting_load(calls, "v2")) == "v2"


async def test_concurrent_misses_share_one_load_and_its_failure():
    cache = RefreshAheadCache(ttl_s=10, maxsize=10, clock=Clock())
    calls, gate = [], asyncio.Event()
    waiting = [asyncio.create_task(cache.get("k", counting_load(calls, "v", gate))) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == ["v", "v", "v"] and calls == ["v"]

    async def broken() -> str:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await cache.get("other", broken)
    assert await cache.get("other", counting_load(calls, "back")) == "back"  # a failure is not cached


async def test_size_is_bounded_oldest_load_first():
    cache = RefreshAheadCache(ttl_s=10, maxsize=2, clock=Clock())
    calls: list[str] = []
    for key in ["a", "b", "c"]:
        await cache.get(key, counting_load(calls, key))
    assert await cache.get("b", counting_load(calls, "b2")) == "b"
    assert await cache.get("a", counting_load(calls, "a2")) == "a2"  # "a" was dropped
