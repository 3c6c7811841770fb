"""The caller's tenant's notifications: the outbox (member and above) and where they go (admin).

Without SMTP, emails (limit alerts, payment reminders) are not sent anywhere:
the outbox is where the tenant reads them.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from warehouse.postgres.billing_notify import get_target, list_outbox, set_target

from ..deps import CurrentPrincipal, EngineDep, require_role
from .schemas import NotificationTargetPublic, NotificationTargetUpdate, OutboxMessagePublic

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.get("/outbox", response_model=list[OutboxMessagePublic], dependencies=[Depends(require_role("member"))])
async def outbox(principal: CurrentPrincipal, engine: EngineDep,
                 channel: Annotated[Literal["email", "webhook"] | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 before: Annotated[datetime | None, Query(description="created_at of the last message seen")] = None,
                 ) -> list[OutboxMessagePublic]:
    async with engine.connect() as conn:
        records = await list_outbox(conn, principal.tenant_id, channel, limit, before)
    return [OutboxMessagePublic.of(record) for record in records]


@router.get("/target", response_model=NotificationTargetPublic, dependencies=[Depends(require_role("admin"))])
async def target(principal: CurrentPrincipal, engine: EngineDep) -> NotificationTargetPublic:
    async with engine.connect() as conn:
        return NotificationTargetPublic.of(await get_target(conn, principal.tenant_id))


@router.put("/target", response_model=NotificationTargetPublic, dependencies=[Depends(require_role("admin"))])
async def update_target(body: NotificationTargetUpdate, principal: CurrentPrincipal,
                        engine: EngineDep) -> NotificationTargetPublic:
    async with engine.begin() as conn:
        current = await get_target(conn, principal.tenant_id)
        secret = current.webhook_secret
        if body.webhook_url is not None and (secret is None or body.rotate_secret):
            secret = "mlwh_" + secrets.token_urlsafe(32)
        saved = await set_target(conn, principal.tenant_id, str(body.email) if body.email else None,
                                 str(body.webhook_url) if body.webhook_url else None, secret)
    return NotificationTargetPublic.of(saved)
