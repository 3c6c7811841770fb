"""Meter definitions as the worker sees them, refreshed so new meters apply without a restart.

When a worker starts applying a meter it records where the meter's rollups become
complete (`meter.rollup_from`): events it processed before then were not aggregated for
it, and they are among the raw events already in ClickHouse, so every window starting
after the latest of their times is complete. No such event: complete from the start.
Readers use raw events for ranges starting earlier (warehouse/clickhouse/queries.py).

Several workers: each starts applying a new meter at its own refresh, so each records
its own instant and the latest wins (an atomic GREATEST in PostgreSQL). A worker marks
a meter when it has no rollup_from yet, or when the meter is new to a worker that was
already processing events; a worker's first load marks only unset meters, since it
processed nothing before.

Backfill (stream/backfill.py): with a `backfill` function, a meter applies only once its
PostgreSQL windows hold the events committed before it; the cache backfills new meters at
a refresh, and a batch, under its shared tenant locks, checks it knows every backfilled
meter of its tenants (`ensure_current`). Without one (unit tests), every meter applies.

A batch never reloads the cache itself: it raises MetersStale, and the worker reloads while
none of its batches is written (stream/agent.py, the `writing` lock), then writes the batch
again. A worker writes several batches at once (stream/lanes.py), and a reload marking a
meter applied while another batch sits between its meter lookup and its raw insert would
record a rollup_from before that batch's events, which were not aggregated for the meter.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from warehouse.postgres.meters import (
    applied_meter_counts, list_meter_states, list_pending_meters, meter_set_version, set_rollup_from,
)

from .sinks.failures import MetersStale

from metering import Meter

if TYPE_CHECKING:  # annotations only: connections come from the stream's engine
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["MeterCache", "LatestEventTimes", "COMPLETE_FROM_START"]

# The latest time among raw events per (tenant, event type), absent when there is none.
# One call for every meter a refresh applies: a query per meter made a worker's first
# refresh over 1,000 meters take tens of seconds, and held the chDB host's inserts up.
LatestEventTimes = Callable[[list[tuple[uuid.UUID, str]]], Awaitable[dict[tuple[uuid.UUID, str], datetime]]]
COMPLETE_FROM_START = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Writes the PostgreSQL windows of meters not yet backfilled (stream.backfill.backfill_meters).
Backfill = Callable[[list[Meter]], Awaitable[object]]


class MeterCache:
    def __init__(self, engine: AsyncEngine, max_age_s: float, latest_event_times: LatestEventTimes | None = None,
                 backfill: Backfill | None = None) -> None:
        self._engine = engine
        self._backfill = backfill
        self._counts: Counter[uuid.UUID] = Counter()  # applied meters per tenant
        self._max_age_s = max_age_s
        self._latest_event_times = latest_event_times
        self._meters: list[Meter] = []
        self._tenants: set[uuid.UUID] = set()
        self._looked_up: set[uuid.UUID] = set()  # asked for by a reload, meters or not
        self._version: tuple[int, int] | None = None  # warehouse.postgres.meters.meter_set_version
        self._known: set[tuple[uuid.UUID, str]] | None = None  # None: nothing loaded (or processed) yet
        self._loaded_at = float("-inf")

    async def current(self) -> list[Meter]:
        if time.monotonic() - self._loaded_at > self._max_age_s:
            await self.refresh()
        return self._meters

    async def for_tenants(self, tenant_ids: Iterable[uuid.UUID]) -> list[Meter]:
        """The meters; MetersStale when a reload is due with something new to apply, or a
        tenant has none and was never looked up: its meters were probably created since, and
        its first events must not miss them. (A tenant with no meter at all is looked up
        once; a meter created for it later is found by the periodic check, within the
        refresh interval, and its earlier events by the backfill. Its events only reach the
        raw table meanwhile.)"""
        tenants = set(tenant_ids)
        if not tenants - self._tenants <= self._looked_up:
            raise MetersStale(tenants)
        if time.monotonic() - self._loaded_at > self._max_age_s and not await self._reload_unchanged():
            raise MetersStale(tenants)
        return self._meters

    async def _reload_unchanged(self) -> bool:
        """The periodic reload, in place, when it has no meter to apply or backfill: only
        applying one needs the worker's other batches to wait (MetersStale otherwise)."""
        if self._known is None:
            return False
        async with self._engine.connect() as conn:
            version = await meter_set_version(conn)
            if version == self._version:
                self._loaded_at = time.monotonic()
                return True
            states = await list_meter_states(conn)
        if self._backfill is not None and not all(done for _, done in states):
            return False
        meters = [m for m, done in states if done or self._backfill is None]
        if self._latest_event_times is not None and self._to_apply(meters):
            return False
        self._install(meters, self._looked_up, version)
        return True

    async def ensure_current(self, conn: AsyncConnection, tenant_ids: Iterable[uuid.UUID]) -> list[Meter]:
        """The meters a batch must apply, checked on the batch's connection once it holds its
        tenants' shared locks: MetersStale when another worker backfilled a meter since the
        last load (the batch then reloads with its locks released, which a backfill needs)."""
        if self._backfill is not None:
            tenants = list(tenant_ids)
            counts = await applied_meter_counts(conn, tenants)
            if any(counts.get(t, 0) != self._counts.get(t, 0) for t in tenants):
                raise MetersStale(tenants)
        return self._meters

    async def backfill_pending(self) -> None:
        """Backfill new meters without applying them here. Applying also records rollup_from
        for meters new to this worker, which belongs on the batch path: an idle worker's
        timer would otherwise move a meter's rollup_from to the latest raw event, sending
        reads of earlier ranges to raw events for no reason (test_sigkill_..., minute)."""
        if self._backfill is None:
            return
        async with self._engine.connect() as conn:
            pending = await list_pending_meters(conn)
        if pending:
            await self._backfill(pending)

    async def refresh(self, backfill: bool = True, tenant_ids: Iterable[uuid.UUID] = ()) -> None:
        """Reload (backfilling new meters first); `tenant_ids`: the tenants of the batch that
        asked, which count as looked up from now on even if they have no meter."""
        version, states = await self._load()
        if self._backfill is not None:
            pending = [m for m, done in states if not done]
            if pending and backfill:
                await self._backfill(pending)
                version, states = await self._load()
            meters = [m for m, done in states if done]
        else:
            meters = [m for m, _ in states]
        # Called between batches' ClickHouse writes (inside the sink, before its claim), so
        # the raw table holds exactly the events processed without these meters.
        # Marking changes the rows, so the next check reloads once more: harmless.
        # Tenants looked up stay so: a meter created for one changes the fingerprint, which
        # the periodic check compares (a reload then applies it). Replacing the set instead
        # had two lanes' meterless tenants send every batch to a reload, in turns.
        self._install(await self._mark_applied(meters), self._looked_up | set(tenant_ids), version)

    async def _load(self) -> tuple[tuple[int, int], list[tuple[Meter, bool]]]:
        async with self._engine.connect() as conn:
            # The version first: a change between the two reads shows at the next check.
            return await meter_set_version(conn), await list_meter_states(conn)

    def _install(self, meters: list[Meter], looked_up: set[uuid.UUID], version: tuple[int, int]) -> None:
        self._version = version
        self._meters = meters
        self._tenants = {m.tenant_id for m in meters}
        self._looked_up = looked_up
        self._counts = Counter(m.tenant_id for m in meters)
        self._known = {(m.tenant_id, m.slug) for m in meters}
        self._loaded_at = time.monotonic()

    def _to_apply(self, meters: list[Meter]) -> list[Meter]:
        """The meters whose rollup_from this worker must record (see the module's docstring)."""
        return [m for m in meters if m.rollup_from is None
                or (self._known is not None and (m.tenant_id, m.slug) not in self._known)]

    async def _mark_applied(self, meters: list[Meter]) -> list[Meter]:
        if self._latest_event_times is None:
            return meters
        applying = self._to_apply(meters)
        if not applying:
            return meters
        latest = await self._latest_event_times(sorted({(m.tenant_id, m.event_type) for m in applying}))
        starts = []
        for meter in applying:
            seen = latest.get((meter.tenant_id, meter.event_type))
            # Strictly after the latest missed event: a window starting there lacks nothing.
            at = COMPLETE_FROM_START if seen is None else seen + timedelta(microseconds=1)
            starts.append((meter.tenant_id, meter.slug, at))
        if not starts:
            return meters
        async with self._engine.begin() as conn:
            current = await set_rollup_from(conn, starts)
        return [replace(m, rollup_from=current.get((m.tenant_id, m.slug), m.rollup_from)) for m in meters]
