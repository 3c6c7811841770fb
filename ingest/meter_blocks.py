"""Hard limits at ingest: 429 for events whose type feeds a meter blocked for the period.

The limits flow records blocks in PostgreSQL (warehouse.postgres.billing_limits);
here each tenant's blocked event types are cached for ``ttl_s`` (a new block or
a plan change is honoured within seconds), so a request costs one dict lookup
and, only for a tenant with a block, one set lookup per event. Concurrent misses
for a tenant share one query, and a busy tenant's entry is reloaded in the
background before it expires (``ingest.refresh_cache``). If PostgreSQL cannot be read, the last known
answer stays in force (or none): refusing all usage because the database blinked
would lose more than a few events over a limit would cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import logging
import math
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime


from warehouse.postgres.billing_limits import blocked_event_types

from .errors import FieldError, IngestError
from .refresh_cache import RefreshAheadCache

if TYPE_CHECKING:  # only annotated here: ingest reads PostgreSQL through warehouse/
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["MeterBlocks"]

log = logging.getLogger(__name__)

_Blocked = dict[str, tuple[str, datetime]]  # event type -> (meter slug, end of the block)


class MeterBlocks:
    def __init__(self, engine: AsyncEngine, ttl_s: float, maxsize: int = 100_000):
        self._engine = engine
        self._cache: RefreshAheadCache[uuid.UUID, _Blocked] = RefreshAheadCache(ttl_s, maxsize)
        self._last_known: dict[uuid.UUID, _Blocked] = {}

    async def check(self, tenant_id: uuid.UUID, event_types: Sequence[str]) -> None:
        """Raise IngestError 429 naming each event (index, "type") of a blocked meter.

        ``event_types[i]`` is the type of the request's event i (duplicates included).
        """
        blocked = await self._cache.get(tenant_id, lambda: self._lookup(tenant_id))
        if not blocked:
            return
        errors = []
        meters: set[str] = set()
        until: datetime | None = None
        for index, event_type in enumerate(event_types):
            hit = blocked.get(event_type)
            if hit is not None:
                meter_slug, end = hit
                meters.add(meter_slug)
                until = end if until is None else min(until, end)
                errors.append(FieldError(index, "type", f"meter {meter_slug} reached its hard limit for the "
                                                        f"period; its events are refused until {end.isoformat()} "
                                                        f"or a plan change"))
        if errors:
            retry_after = max(1, math.ceil(until.timestamp() - time.time())) if until else 60
            raise IngestError(429, "meter_limit_reached",
                              f"{len(errors)} events are for meters over their hard limit ({', '.join(sorted(meters))}); "
                              f"nothing was accepted", errors, headers={"Retry-After": str(retry_after)})

    async def _lookup(self, tenant_id: uuid.UUID) -> _Blocked:
        try:
            async with self._engine.connect() as conn:
                blocked = await blocked_event_types(conn, tenant_id, datetime.now(UTC))
        except Exception:  # noqa: BLE001 - fail open with the last answer, see the module docstring
            log.warning("meter blocks of tenant %s could not be read; using the last known", tenant_id,
                        exc_info=True)
            return self._last_known.get(tenant_id, {})
        # Only tenants with a block are remembered: the fallback stays as small as the blocks.
        if blocked:
            self._last_known[tenant_id] = blocked
        else:
            self._last_known.pop(tenant_id, None)
        return blocked
