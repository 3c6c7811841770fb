"""A tenant's notification outbox and where its notifications go."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from billing_jobs.limits import applied_thresholds, threshold_problems
from billing_jobs.outbound_targets import TargetPolicy, TargetRefused, resolve_target
from warehouse.postgres.alert_thresholds import get_alert_thresholds, set_alert_thresholds
from warehouse.postgres.audit import record_audit
from warehouse.postgres.billing_notify import NotificationTarget, OutboxRecord, get_target, list_outbox, set_target
from warehouse.postgres.database import Database

from ..caller import Caller, caller_actor
from ..domain_errors import FieldProblem, InvalidInput

__all__ = ["outbox_messages", "notification_target", "set_notification_target", "webhook_secret_after_update",
           "new_webhook_secret", "check_webhook_url", "AlertThresholds", "alert_thresholds", "set_thresholds",
           "check_thresholds"]


def new_webhook_secret() -> str:
    return "mlwh_" + secrets.token_urlsafe(32)


def webhook_secret_after_update(current: str | None, webhook_url: str | None, rotate: bool,
                                fresh: str) -> str | None:
    """A webhook URL needs a signing secret: the first URL gets one (`fresh`), a rotation
    replaces it; otherwise receivers keep verifying with the secret they have."""
    if webhook_url is not None and (current is None or rotate):
        return fresh
    return current


async def outbox_messages(database: Database, tenant_id: uuid.UUID, channel: str | None, limit: int,
                          before: datetime | None) -> list[OutboxRecord]:
    async with database.connect() as conn:
        return await list_outbox(conn, tenant_id, channel, limit, before)


async def notification_target(database: Database, tenant_id: uuid.UUID) -> NotificationTarget:
    async with database.connect() as conn:
        return await get_target(conn, tenant_id)


async def check_webhook_url(webhook_url: str, policy: TargetPolicy) -> None:
    """Refuse a URL that resolves to a non-public address now (delivery checks again, since
    DNS answers change). The look-up blocks: off the event loop."""
    try:
        await asyncio.to_thread(resolve_target, webhook_url, policy)
    except TargetRefused as exc:
        raise InvalidInput(str(exc), code="webhook_target_refused",
                           problems=[FieldProblem("webhook_url", str(exc))]) from None


async def set_notification_target(database: Database, tenant_id: uuid.UUID, email: str | None,
                                  webhook_url: str | None, rotate_secret: bool,
                                  policy: TargetPolicy) -> NotificationTarget:
    if webhook_url is not None:
        await check_webhook_url(webhook_url, policy)
    async with database.begin() as conn:
        current = await get_target(conn, tenant_id)
        secret = webhook_secret_after_update(current.webhook_secret, webhook_url, rotate_secret, new_webhook_secret())
        return await set_target(conn, tenant_id, email, webhook_url, secret)


@dataclass(frozen=True)
class AlertThresholds:
    applied: tuple[int, ...]
    custom: bool
    default: tuple[int, ...]


def check_thresholds(percents: Sequence[int]) -> tuple[int, ...]:
    """The percents as stored (ascending), or 422 naming each bad entry (`percents.<index>`)."""
    problems = threshold_problems(percents)
    if problems:
        details = [FieldProblem("percents" if index is None else f"percents.{index}", reason)
                   for index, reason in problems]
        raise InvalidInput("these alert thresholds cannot be used: " + "; ".join(p.reason for p in details),
                           code="invalid_thresholds", problems=details)
    return tuple(sorted(percents))


def _thresholds(chosen: Sequence[int] | None, default: Sequence[int]) -> AlertThresholds:
    return AlertThresholds(applied_thresholds(chosen, default), chosen is not None, tuple(sorted(default)))


async def alert_thresholds(database: Database, tenant_id: uuid.UUID, default: Sequence[int]) -> AlertThresholds:
    async with database.connect() as conn:
        chosen = await get_alert_thresholds(conn, tenant_id)
    return _thresholds(chosen, default)


async def set_thresholds(database: Database, caller: Caller, percents: Sequence[int] | None,
                         default: Sequence[int]) -> AlertThresholds:
    """None goes back to the platform's default. Audited: who changed when alerts fire matters
    when an expected alert did not come."""
    chosen = None if percents is None else check_thresholds(percents)
    tenant_id = caller.principal.tenant_id
    async with database.begin() as conn:
        await set_alert_thresholds(conn, tenant_id, chosen)
        await record_audit(conn, tenant_id, caller_actor(caller), "alert_thresholds.changed", "tenant", tenant_id,
                           {"percents": list(chosen) if chosen else None})
    return _thresholds(chosen, default)
