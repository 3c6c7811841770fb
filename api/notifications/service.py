"""A tenant's notification outbox and where its notifications go."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from warehouse.postgres.billing_notify import NotificationTarget, OutboxRecord, get_target, list_outbox, set_target

__all__ = ["outbox_messages", "notification_target", "set_notification_target"]


async def outbox_messages(engine: AsyncEngine, tenant_id: uuid.UUID, channel: str | None, limit: int,
                          before: datetime | None) -> list[OutboxRecord]:
    async with engine.connect() as conn:
        return await list_outbox(conn, tenant_id, channel, limit, before)


async def notification_target(engine: AsyncEngine, tenant_id: uuid.UUID) -> NotificationTarget:
    async with engine.connect() as conn:
        return await get_target(conn, tenant_id)


async def set_notification_target(engine: AsyncEngine, tenant_id: uuid.UUID, email: str | None,
                                  webhook_url: str | None, rotate_secret: bool) -> NotificationTarget:
    async with engine.begin() as conn:
        current = await get_target(conn, tenant_id)
        secret = current.webhook_secret
        if webhook_url is not None and (secret is None or rotate_secret):
            secret = "mlwh_" + secrets.token_urlsafe(32)
        return await set_target(conn, tenant_id, email, webhook_url, secret)
