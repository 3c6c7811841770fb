"""The owner's side of a tenant's deletion: export first, then a deletion with a grace period.

The deletion request is refused unless the owner downloaded an export within
`ApiSettings.tenant_export_max_age_h`: what they keep is what they are leaving. During the
grace period (`tenant_deletion_grace_days`) the status is `deleting`: ingest refuses the
keys, the people still sign in, read and download, and the owner may cancel. After it,
the purge job (billing_jobs.tenant_purge) removes the schema, keys and Stripe customer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from billing_jobs.lifecycle import LifecycleRefused, TenantState, cancel_deletion, schedule_deletion
from meterline.settings import ApiSettings
from warehouse.postgres.database import Database
from warehouse.postgres.tenant_export import collect_tenant_export
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


async def export(database: Database, tenant_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    async with database.begin() as conn:
        body = await collect_tenant_export(conn, tenant_id)
        found = await load_lifecycle(conn, tenant_id)
        await record_export_taken(conn, tenant_id, now)
    assert found is not None  # the route's CurrentTenant saw it in this request
    return {"format": "meterline-tenant-export/1", "exported_at": now.isoformat(),
            "tenant": {"id": str(found.id), "slug": found.slug, "name": found.name,
                       "created_at": found.created_at.isoformat()}, **body}


async def _transition(database: Database, tenant_id: uuid.UUID, now: datetime,
                      change: Callable[[TenantState], TenantState]) -> TenantLifecycle:
    async with database.begin() as conn:
        found = await load_lifecycle(conn, tenant_id, for_update=True)
        if found is None:
            raise Unauthenticated("the token's tenant no longer exists", code="invalid_token")
        try:
            state = change(found.state)
        except LifecycleRefused as exc:
            raise Conflict(str(exc), code=exc.code) from exc
        await save_lifecycle(conn, tenant_id, state, now)
        return await load_lifecycle(conn, tenant_id)  # type: ignore[return-value]


async def request_deletion(database: Database, limits: ApiSettings, tenant_id: uuid.UUID,
                           now: datetime) -> TenantLifecycle:
    grace = timedelta(days=limits.tenant_deletion_grace_days)
    max_age = timedelta(hours=limits.tenant_export_max_age_h)
    return await _transition(database, tenant_id, now, lambda s: schedule_deletion(s, now, grace, max_age))


async def withdraw_deletion(database: Database, tenant_id: uuid.UUID, now: datetime) -> TenantLifecycle:
    return await _transition(database, tenant_id, now, lambda s: cancel_deletion(s, now))
