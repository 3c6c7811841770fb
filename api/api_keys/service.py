"""A tenant's ingest keys: listed, created (the plaintext returned once) and revoked."""

from __future__ import annotations

import uuid

from warehouse.postgres.api_keys import ApiKeyRecord, create_api_key, list_api_keys, revoke_api_key
from warehouse.postgres.database import Database

from ..domain_errors import NotFound

__all__ = ["tenant_keys", "issue_key", "revoke_key"]


async def tenant_keys(database: Database, tenant_id: uuid.UUID) -> list[ApiKeyRecord]:
    async with database.connect() as conn:
        return await list_api_keys(conn, tenant_id)


async def issue_key(database: Database, tenant_id: uuid.UUID, name: str) -> tuple[ApiKeyRecord, str]:
    async with database.begin() as conn:
        return await create_api_key(conn, tenant_id, name)


async def revoke_key(database: Database, tenant_id: uuid.UUID, key_id: uuid.UUID) -> None:
    async with database.begin() as conn:
        revoked = await revoke_api_key(conn, tenant_id, key_id)
    if not revoked:
        # Unknown, already revoked, or another tenant's: the same answer, so ids leak nothing.
        raise NotFound("no active API key with this id")
