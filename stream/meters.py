"""Meter definitions as the worker sees them, refreshed so new meters apply without a restart."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse.postgres.meters import list_all_meters

from .aggregation import Meter

__all__ = ["MeterCache"]


class MeterCache:
    def __init__(self, engine: AsyncEngine, max_age_s: float) -> None:
        self._engine = engine
        self._max_age_s = max_age_s
        self._meters: list[Meter] = []
        self._tenants: set[uuid.UUID] = set()
        self._loaded_at = float("-inf")

    async def current(self) -> list[Meter]:
        if time.monotonic() - self._loaded_at > self._max_age_s:
            await self.refresh()
        return self._meters

    async def for_tenants(self, tenant_ids: Iterable[uuid.UUID]) -> list[Meter]:
        """The meters, reloaded first when a tenant has none yet: its meters were probably
        created after the last load, and its first events must not miss them. (A tenant
        with no meter at all costs one query per batch; its events only reach the raw table.)"""
        if time.monotonic() - self._loaded_at > self._max_age_s or not self._tenants.issuperset(tenant_ids):
            await self.refresh()
        return self._meters

    async def refresh(self) -> None:
        async with self._engine.connect() as conn:
            self._meters = await list_all_meters(conn)
        self._tenants = {m.tenant_id for m in self._meters}
        self._loaded_at = time.monotonic()
