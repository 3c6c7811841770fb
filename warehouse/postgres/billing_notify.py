"""The notification outbox (`billing_outbox`) and each tenant's targets (`billing_notification_target`).

Writers put messages in the outbox in the transaction that decides them
(dunning steps, limit alerts); `PgOutbox` is the dispatcher's side
(billing_jobs.ports.OutboxStore); the async readers serve the admin API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.ports import PendingNotification

from .billing_tables import billing_notification_target, billing_outbox
from .transient import retryable_on_connection_loss

__all__ = ["NotificationTarget", "OutboxRecord", "PgOutbox", "get_target", "list_outbox", "set_target", "enqueue_email"]


@retryable_on_connection_loss
class PgOutbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def pending(self, channels: tuple[str, ...], max_attempts: int, limit: int) -> list[PendingNotification]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(billing_outbox, billing_notification_target.c.webhook_secret)
                .select_from(billing_outbox.outerjoin(
                    billing_notification_target, billing_notification_target.c.tenant_id == billing_outbox.c.tenant_id))
                .where(billing_outbox.c.sent_at.is_(None), billing_outbox.c.channel.in_(channels),
                       billing_outbox.c.attempts < max_attempts)
                .order_by(billing_outbox.c.created_at).limit(limit))
            return [PendingNotification(str(r.id), str(r.tenant_id), r.channel, r.recipient, r.subject, r.body,
                                        r.webhook_secret, r.attempts) for r in rows]

    def mark_sent(self, notification_id: str, now: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(billing_outbox).where(billing_outbox.c.id == uuid.UUID(notification_id))
                         .values(sent_at=now, attempts=billing_outbox.c.attempts + 1, last_error=None))

    def mark_failed(self, notification_id: str, error: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(billing_outbox).where(billing_outbox.c.id == uuid.UUID(notification_id))
                         .values(attempts=billing_outbox.c.attempts + 1, last_error=error[:2000]))


@dataclass(frozen=True)
class OutboxRecord:
    id: uuid.UUID
    channel: str
    recipient: str | None
    subject: str
    body: dict
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None


async def list_outbox(conn: AsyncConnection, tenant_id: uuid.UUID, channel: str | None = None,
                      limit: int = 100, before: datetime | None = None) -> list[OutboxRecord]:
    """The tenant's messages, newest first; page with `before` = the last `created_at` seen."""
    query = select(billing_outbox).where(billing_outbox.c.tenant_id == tenant_id)
    if channel is not None:
        query = query.where(billing_outbox.c.channel == channel)
    if before is not None:
        query = query.where(billing_outbox.c.created_at < before)
    rows = await conn.execute(query.order_by(billing_outbox.c.created_at.desc(), billing_outbox.c.id).limit(limit))
    return [OutboxRecord(r.id, r.channel, r.recipient, r.subject, r.body, r.created_at, r.sent_at, r.attempts,
                         r.last_error) for r in rows]


@dataclass(frozen=True)
class NotificationTarget:
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None


async def get_target(conn: AsyncConnection, tenant_id: uuid.UUID) -> NotificationTarget:
    row = (await conn.execute(select(billing_notification_target)
                              .where(billing_notification_target.c.tenant_id == tenant_id))).one_or_none()
    return NotificationTarget(row.email, row.webhook_url, row.webhook_secret) if row else NotificationTarget(None, None, None)


async def set_target(conn: AsyncConnection, tenant_id: uuid.UUID, email: str | None, webhook_url: str | None,
                     webhook_secret: str | None) -> NotificationTarget:
    values = {"email": email, "webhook_url": webhook_url, "webhook_secret": webhook_secret}
    statement = pg_insert(billing_notification_target).values(tenant_id=tenant_id, **values)
    await conn.execute(statement.on_conflict_do_update(index_elements=["tenant_id"], set_=values))
    return NotificationTarget(email, webhook_url, webhook_secret)


async def enqueue_email(conn: AsyncConnection, tenant_id: uuid.UUID, dedup_key: str, recipient: str, subject: str,
                        body: dict) -> None:
    """An email for the dispatcher (billing_jobs.notify_service), in the caller's transaction."""
    await conn.execute(pg_insert(billing_outbox).values(tenant_id=tenant_id, channel="email", dedup_key=dedup_key,
                                                        recipient=recipient, subject=subject, body=body)
                       .on_conflict_do_nothing(index_elements=["dedup_key"]))
