"""Tenant API keys, checked through a TTL cache so a request costs no database round trip.

Both answers are cached for ``ttl_s``: an owner, and "no such key" (so a flood of bad keys
cannot reach the database either). A revocation or a suspension is therefore honoured
within ``ttl_s``. Concurrent misses for one key share a single lookup, and a key in use
is reloaded in the background before it expires (``ingest.refresh_cache``). The cache is
keyed by the key's hash, so plaintext keys are not kept in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import hashlib


from warehouse.postgres.api_keys import KeyOwner, find_key_owner

from .errors import FieldError, IngestError
from .refresh_cache import RefreshAheadCache

if TYPE_CHECKING:  # only annotated here: ingest reads PostgreSQL through warehouse/
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["KeyCache", "bearer_key"]


def bearer_key(authorization: str | None) -> str:
    if not authorization:
        raise IngestError(401, "unauthenticated", "missing Authorization: Bearer <api key>",
                          headers={"WWW-Authenticate": "Bearer"})
    scheme, _, key = authorization.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise IngestError(401, "unauthenticated", "the Authorization header must be Bearer <api key>",
                          headers={"WWW-Authenticate": "Bearer"})
    return key


class KeyCache:
    def __init__(self, engine: AsyncEngine, ttl_s: float, maxsize: int = 100_000):
        self._engine = engine
        self._cache: RefreshAheadCache[str, KeyOwner | None] = RefreshAheadCache(ttl_s, maxsize)

    async def owner(self, plaintext: str) -> KeyOwner:
        """The active tenant owning the key, else IngestError 401/403 (503 if the database fails)."""
        digest = hashlib.sha256(plaintext.encode()).hexdigest()
        try:
            owner = await self._cache.get(digest, lambda: self._lookup(plaintext))
        except Exception as exc:
            raise _db_unavailable() from exc
        if owner is None:
            raise IngestError(401, "invalid_api_key", "the API key is unknown or revoked",
                              headers={"WWW-Authenticate": "Bearer"})
        if owner.tenant_status != "active":
            why = f": {owner.tenant_status_reason}" if owner.tenant_status_reason else ""
            raise IngestError(403, "tenant_suspended", f"tenant {owner.tenant_slug} is {owner.tenant_status}{why}",
                              [FieldError(None, None, f"tenant status is {owner.tenant_status}")])
        return owner

    async def _lookup(self, plaintext: str) -> KeyOwner | None:
        async with self._engine.connect() as conn:
            return await find_key_owner(conn, plaintext)


def _db_unavailable() -> IngestError:
    return IngestError(503, "auth_unavailable", "API keys cannot be checked right now",
                       headers={"Retry-After": "1"})
