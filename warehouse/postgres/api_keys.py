"""Tenant API keys: only a SHA-256 of the key is stored.

The keys are 256-bit random tokens, so a fast hash is enough (no dictionary to
attack) and lets ingest look a key up by its hash in one indexed read.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import api_key, tenant

__all__ = ["KEY_PREFIX", "hash_api_key", "ApiKeyRecord", "KeyOwner", "create_api_key", "revoke_api_key",
           "list_api_keys", "find_key_owner"]

KEY_PREFIX = "mlk_"


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKeyRecord:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class KeyOwner:
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_status: str
    tenant_status_reason: str | None = None  # why it is suspended or being deleted (shared_1050)


def _record(row) -> ApiKeyRecord:
    return ApiKeyRecord(row.id, row.tenant_id, row.name, row.prefix, row.created_at, row.revoked_at)


async def create_api_key(conn: AsyncConnection, tenant_id: uuid.UUID, name: str) -> tuple[ApiKeyRecord, str]:
    """Returns the record and the plaintext key, which is never retrievable again."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    row = (await conn.execute(
        insert(api_key).values(tenant_id=tenant_id, name=name, prefix=plaintext[:12],
                               key_hash=hash_api_key(plaintext)).returning(*api_key.c)
    )).one()
    return _record(row), plaintext


async def revoke_api_key(conn: AsyncConnection, tenant_id: uuid.UUID, key_id: uuid.UUID) -> bool:
    result = await conn.execute(
        update(api_key)
        .where(api_key.c.id == key_id, api_key.c.tenant_id == tenant_id, api_key.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return result.rowcount == 1


async def list_api_keys(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[ApiKeyRecord]:
    rows = await conn.execute(select(api_key).where(api_key.c.tenant_id == tenant_id).order_by(api_key.c.created_at))
    return [_record(r) for r in rows]


async def find_key_owner(conn: AsyncConnection, plaintext: str) -> KeyOwner | None:
    row = (await conn.execute(
        select(tenant.c.id, tenant.c.slug, tenant.c.status, tenant.c.status_reason)
        .join(api_key, api_key.c.tenant_id == tenant.c.id)
        .where(api_key.c.key_hash == hash_api_key(plaintext), api_key.c.revoked_at.is_(None))
    )).one_or_none()
    return KeyOwner(row.id, row.slug, row.status, row.status_reason) if row else None
