"""The owner's side of a tenant's deletion: export first, then a deletion with a grace period.

The deletion request is refused unless the owner downloaded an export within
`ApiSettings.tenant_export_max_age_h`: what they keep is what they are leaving. During the
grace period (`tenant_deletion_grace_days`) the status is `deleting`: ingest refuses the
keys, the people still sign in, read and download, and the owner may cancel. After it,
the purge job (billing_jobs.tenant_purge) removes the schema, keys and Stripe customer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import orjson

from billing_jobs.lifecycle import LifecycleRefused, TenantState, cancel_deletion, schedule_deletion
from meterline.settings import ApiSettings
from warehouse.postgres.audit import Actor, record_audit
from warehouse.postgres.database import Database
from warehouse.postgres.tenant_export import EXPORTED_WINDOWS, collect_tenant_export, usage_window_batches
from warehouse.postgres.tenant_lifecycle import (
    TenantLifecycle, load_lifecycle, record_export_taken, save_lifecycle,
)

from ..domain_errors import Conflict, Unauthenticated

__all__ = ["standing", "export", "request_deletion", "withdraw_deletion"]


async def standing(database: Database, tenant_id: uuid.UUID) -> TenantLifecycle:
    async with database.connect() as conn:
        found = await load_lifecycle(conn, tenant_id)
    if found is None:
        raise Unauthenticated("the token's tenant no longer exists", code="invalid_token")
    return found


async def export(database: Database, tenant_id: uuid.UUID, now: datetime, actor: Actor
                 ) -> tuple[str, AsyncIterator[bytes]]:
    """The export's file name and its JSON document, written while it is read: the usage
    windows come from a server-side cursor in batches, so a large tenant's export holds one
    batch in memory, not the whole document. The export counts as taken (the deletion may
    follow) only once the last window is written: a download cut short records nothing, and
    its document ends unclosed, so it does not parse as a whole one."""
    found = await standing(database, tenant_id)
    return f"meterline-{found.slug}-{now:%Y%m%dT%H%M%SZ}.json", _export_document(database, found, now, actor)


async def _export_document(database: Database, found: TenantLifecycle, now: datetime,
                           actor: Actor) -> AsyncIterator[bytes]:
    async with database.begin() as conn:
        head = {"format": "meterline-tenant-export/1", "exported_at": now.isoformat(),
                "tenant": {"id": str(found.id), "slug": found.slug, "name": found.name,
                           "created_at": found.created_at.isoformat()},
                **await collect_tenant_export(conn, found.id)}
        yield orjson.dumps(head)[:-1] + b',"usage_windows":{'
        for n, window in enumerate(EXPORTED_WINDOWS):
            yield (b"," if n else b"") + orjson.dumps(window) + b":["
            separator = b""
            async for batch in usage_window_batches(conn, found.id, window):  # never an empty batch
                yield separator + orjson.dumps(batch)[1:-1]
                separator = b","
            yield b"]"
        await record_export_taken(conn, found.id, now)
        await record_audit(conn, found.id, actor, "tenant.exported", "tenant", found.id)
    yield b"}}"


async def _transition(database: Database, tenant_id: uuid.UUID, now: datetime,
                      change: Callable[[TenantState], TenantState], actor: Actor, action: str) -> TenantLifecycle:
    async with database.begin() as conn:
        found = await load_lifecycle(conn, tenant_id, for_update=True)
        if found is None:
            raise Unauthenticated("the token's tenant no longer exists", code="invalid_token")
        try:
            state = change(found.state)
        except LifecycleRefused as exc:
            raise Conflict(str(exc), code=exc.code) from exc
        await save_lifecycle(conn, tenant_id, state, now)
        await record_audit(conn, tenant_id, actor, action, "tenant", tenant_id,
                           {"purge_after": state.purge_after.isoformat() if state.purge_after else None})
        return await load_lifecycle(conn, tenant_id)  # type: ignore[return-value]


async def request_deletion(database: Database, limits: ApiSettings, tenant_id: uuid.UUID,
                           now: datetime, actor: Actor) -> TenantLifecycle:
    grace = timedelta(days=limits.tenant_deletion_grace_days)
    max_age = timedelta(hours=limits.tenant_export_max_age_h)
    return await _transition(database, tenant_id, now, lambda s: schedule_deletion(s, now, grace, max_age),
                             actor, "tenant.deletion_requested")


async def withdraw_deletion(database: Database, tenant_id: uuid.UUID, now: datetime, actor: Actor) -> TenantLifecycle:
    return await _transition(database, tenant_id, now, lambda s: cancel_deletion(s, now), actor,
                             "tenant.deletion_cancelled")
