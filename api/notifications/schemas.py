from __future__ import annotations

import uuid
from datetime import datetime

from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, Field, Strict

from billing_jobs.limits import MAX_THRESHOLD_PERCENT, MAX_THRESHOLDS, MIN_THRESHOLD_PERCENT
from warehouse.postgres.billing_notify import NotificationTarget, OutboxRecord

from ..fields import Email

__all__ = ["NotificationTargetPublic", "NotificationTargetUpdate", "OutboxMessagePublic", "AlertThresholdsPublic",
           "AlertThresholdsUpdate"]


class OutboxMessagePublic(BaseModel):
    id: uuid.UUID
    channel: str = Field(description="email | webhook")
    recipient: str | None
    subject: str
    body: dict = Field(description="The message as JSON; amounts and quantities are strings")
    created_at: datetime
    sent_at: datetime | None = Field(description="null: not delivered (an email stays here when no SMTP is set)")
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, record: OutboxRecord, reveal_tokens: bool = True) -> OutboxMessagePublic:
        # An invitation's token lets whoever holds it join with the invited role: not for
        # the eyes of users who could not have sent the invitation themselves.
        body = record.body if reveal_tokens or "token" not in record.body else {**record.body, "token": "(hidden)"}
        return cls(id=record.id, channel=record.channel, recipient=record.recipient, subject=record.subject,
                   body=body, created_at=record.created_at, sent_at=record.sent_at,
                   attempts=record.attempts, last_error=record.last_error)


class NotificationTargetUpdate(BaseModel):
    email: Email | None = Field(default=None, description="Billing address; default: the owner's")
    webhook_url: AnyHttpUrl | None = Field(default=None, description="Receives signed JSON POSTs")
    rotate_secret: bool = Field(default=False, description="Issue a new webhook signing secret")


class NotificationTargetPublic(BaseModel):
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None = Field(
        description="Verify `Meterline-Signature: t=<unix>,v1=<hex>`: hex HMAC-SHA256 with this secret "
                    "over '<t>.' followed by the raw body")

    @classmethod
    def of(cls, target: NotificationTarget) -> NotificationTargetPublic:
        return cls(email=target.email, webhook_url=target.webhook_url, webhook_secret=target.webhook_secret)


class AlertThresholdsUpdate(BaseModel):
    # Strict: 80.0, "80" or true are refused rather than read as 80 or 1. The length bound
    # here only caps what is parsed; the rules (api.notifications.service) say what is allowed.
    percents: list[Annotated[int, Strict()]] | None = Field(
        max_length=100,
        description=f"Percents of each plan limit at which an alert fires, once per period: whole numbers "
                    f"{MIN_THRESHOLD_PERCENT}..{MAX_THRESHOLD_PERCENT}, at most {MAX_THRESHOLDS}, no repeats. "
                    "null: back to the platform's default")


class AlertThresholdsPublic(BaseModel):
    percents: list[int] = Field(description="The thresholds the limit check uses for this tenant, ascending")
    custom: bool = Field(description="true: the tenant chose them; false: the platform's default applies")
    default_percents: list[int] = Field(description="The platform's default")
    min_percent: int = MIN_THRESHOLD_PERCENT
    max_percent: int = MAX_THRESHOLD_PERCENT
    max_count: int = MAX_THRESHOLDS
