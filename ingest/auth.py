"""Tenant API keys, checked through a TTL cache so a request costs no database round trip.

Both answers are cached for ``ttl_s``: an owner, and "no such key" (so a flood of bad keys
cannot reach the database either). A revocation or a suspension is therefore honoured
within ``ttl_s``. Concurrent misses for one key share a single lookup. The cache is
keyed by the key's hash, so plaintext keys are not kept in memory.
"""

from __future__ import annotations

import asyncio
import hashlib

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse.postgres.api_keys import KeyOwner, find_key_owner

from .errors import FieldError, IngestError

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
        self._cache: TTLCache[str, KeyOwner | None] = TTLCache(maxsize=maxsize, ttl=ttl_s)
        self._lookups: dict[str, asyncio.Future] = {}

    async def owner(self, plaintext: str) -> KeyOwner:
        """The active tenant owning the key, else IngestError 401/403 (503 if the database fails)."""
        digest = hashlib.sha256(plaintext.encode()).hexdigest()
        try:
            owner = self._cache[digest]
        except KeyError:
            owner = await self._lookup(digest, plaintext)
        if owner is None:
            raise IngestError(401, "invalid_api_key", "the API key is unknown or revoked",
                              headers={"WWW-Authenticate": "Bearer"})
        if owner.tenant_status != "active":
            raise IngestError(403, "tenant_suspended", f"tenant {owner.tenant_slug} is {owner.tenant_status}",
                              [FieldError(None, None, f"tenant status is {owner.tenant_status}")])
        return owner

    async def _lookup(self, digest: str, plaintext: str) -> KeyOwner | None:
        pending = self._lookups.get(digest)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except IngestError:
                raise
            except Exception as exc:
                raise _db_unavailable() from exc
        future = asyncio.get_running_loop().create_future()
        self._lookups[digest] = future
        try:
            async with self._engine.connect() as conn:
                owner = await find_key_owner(conn, plaintext)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # waiters get it; do not log it as never retrieved
            raise _db_unavailable() from exc
        finally:
            del self._lookups[digest]
        self._cache[digest] = owner
        future.set_result(owner)
        return owner


def _db_unavailable() -> IngestError:
    return IngestError(503, "auth_unavailable", "API keys cannot be checked right now",
                       headers={"Retry-After": "1"})
