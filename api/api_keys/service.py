"""A tenant's ingest keys: listed, created (the plaintext returned once) and revoked.

Members manage the keys they own; whoever holds ALL_API_KEYS (admins and the owner)
manages everyone's (api/permissions.py). Creating and revoking are audited.
"""

from __future__ import annotations

import uuid

from warehouse.postgres.api_keys import ApiKeyRecord, create_api_key, list_api_keys, revoke_api_key
from warehouse.postgres.audit import record_audit
from warehouse.postgres.database import Database

from ..caller import Caller, caller_actor
from ..domain_errors import NotFound
from ..permissions import Permission, can

__all__ = ["tenant_keys", "issue_key", "revoke_key", "owner_filter"]


def owner_filter(caller: Caller) -> uuid.UUID | None:
    """Whose keys the caller may see and revoke: everyone's (None) or their own."""
    return None if can(caller.principal.role, Permission.ALL_API_KEYS) else caller.principal.user_id


async def tenant_keys(database: Database, caller: Caller) -> list[ApiKeyRecord]:
    async with database.connect() as conn:
        return await list_api_keys(conn, caller.principal.tenant_id, owner_filter(caller))


async def issue_key(database: Database, caller: Caller, name: str) -> tuple[ApiKeyRecord, str]:
    tenant_id = caller.principal.tenant_id
    async with database.begin() as conn:
        record, plaintext = await create_api_key(conn, tenant_id, name, caller.principal.user_id)
        await record_audit(conn, tenant_id, caller_actor(caller), "api_key.created", "api_key", record.id,
                           {"name": name, "prefix": record.prefix})
    return record, plaintext


async def revoke_key(database: Database, caller: Caller, key_id: uuid.UUID) -> None:
    tenant_id = caller.principal.tenant_id
    async with database.begin() as conn:
        revoked = await revoke_api_key(conn, tenant_id, key_id, owner_filter(caller))
        if revoked is not None:
            await record_audit(conn, tenant_id, caller_actor(caller), "api_key.revoked", "api_key", key_id,
                               {"name": revoked.name, "prefix": revoked.prefix,
                                "owner_user_id": str(revoked.owner_user_id) if revoked.owner_user_id else None})
    if revoked is None:
        # Unknown, already revoked, another tenant's or (for a member) another user's: the
        # same answer, so ids leak nothing.
        raise NotFound("no active API key with this id")
