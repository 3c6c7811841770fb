"""Meter definitions as the worker sees them, refreshed so new meters apply without a restart."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse.postgres.meters import list_all_meters

from .aggregation import Meter

__all__ = ["MeterCache"]


class MeterCache:
    def __init__(self, engine: AsyncEngine, max_age_s: float) -> None:
        self._engine = engine
        self._max_age_s = max_age_s
        self._meters: list[Meter] = []
        self._loaded_at = float("-inf")

    async def current(self) -> list[Meter]:
        if time.monotonic() - self._loaded_at > self._max_age_s:
            await self.refresh()
        return self._meters

    async def refresh(self) -> None:
        async with self._engine.connect() as conn:
            self._meters = await list_all_meters(conn)
        self._loaded_at = time.monotonic()
