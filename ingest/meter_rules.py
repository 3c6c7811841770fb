"""Each tenant's meter rules at ingest: which values and labels its meters read, and their bounds.

The rules (ingest.storable.TypeRules by event type) come from the meter table
(warehouse.postgres.meter_rules) and are cached per tenant like hard-limit blocks
(ingest.meter_blocks): at most ``ttl_s`` old, reloaded ahead of expiry for a busy
tenant, one query for concurrent misses. So a new meter, or a changed
``allow_negative``, is enforced within seconds.

If PostgreSQL cannot be read, the last known rules stay in force (or none, and then
only the checks that need no meter apply): refusing every event because the database
blinked would stop metering for all tenants, and a value that slips through is still
dead-lettered by the stream, never a stall.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse.postgres.meter_rules import meter_rule_rows

from .refresh_cache import RefreshAheadCache
from .storable import MeterRules, rules_of

__all__ = ["MeterRuleCache"]

log = logging.getLogger(__name__)


class MeterRuleCache:
    def __init__(self, engine: AsyncEngine, ttl_s: float, maxsize: int = 100_000):
        self._engine = engine
        self._cache: RefreshAheadCache[uuid.UUID, MeterRules] = RefreshAheadCache(ttl_s, maxsize)
        self._last_known: dict[uuid.UUID, MeterRules] = {}

    async def rules(self, tenant_id: uuid.UUID) -> MeterRules:
        """The tenant's rules by event type (empty: no meter reads a value or label)."""
        return await self._cache.get(tenant_id, lambda: self._lookup(tenant_id))

    async def _lookup(self, tenant_id: uuid.UUID) -> MeterRules:
        try:
            async with self._engine.connect() as conn:
                rules = rules_of(await meter_rule_rows(conn, tenant_id))
        except Exception:  # noqa: BLE001 - fail open with the last answer, see the module docstring
            log.warning("meter rules of tenant %s could not be read; using the last known", tenant_id,
                        exc_info=True)
            return self._last_known.get(tenant_id, {})
        self._last_known[tenant_id] = rules
        return rules
