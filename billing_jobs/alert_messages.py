"""What a limit alert says, on each channel. Pure: the caller passes `now` and the targets.

Every message carries a stable id (`dedup_key`): the outbox stores it under a
unique constraint, and webhook receivers get it as `Meterline-Event-Id`, since
delivery is at least once (a crash after the POST and before it is marked sent
sends it again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from .limits import LimitAlert
from .money import format_decimal

__all__ = ["Notification", "limit_alert_notifications"]


@dataclass(frozen=True, slots=True)
class Notification:
    channel: Literal["email", "webhook"]
    dedup_key: str
    recipient: str | None  # an address or URL; an email without one stays in the outbox
    subject: str
    body: dict  # JSON-ready: numbers as strings, never floats


def limit_alert_notifications(*, tenant_id: str, tenant_slug: str, alert: LimitAlert, period_start: date,
                              period_end: date, email: str | None, webhook_url: str | None,
                              now: datetime) -> list[Notification]:
    """The email (always: without SMTP the outbox is where the tenant reads it) and,
    if the tenant configured one, the webhook for one alert."""
    key = f"limit:{tenant_id}:{period_start:%Y-%m}:{alert.meter_slug}:{alert.kind}:{alert.threshold_percent}"
    blocked = alert.kind == "hard" and alert.quantity >= alert.limit_quantity
    subject = (f"{tenant_slug}: {alert.meter_slug} reached {alert.threshold_percent}% of its {alert.kind} limit "
               f"({format_decimal(alert.quantity)} of {format_decimal(alert.limit_quantity)})")
    if blocked:
        subject += f"; its events are refused until {period_end:%Y-%m-%d}"
    body = {
        "type": "limit.threshold_reached",
        "tenant": tenant_slug,
        "meter": alert.meter_slug,
        "limit_kind": alert.kind,
        "threshold_percent": alert.threshold_percent,
        "quantity": format_decimal(alert.quantity),
        "limit": format_decimal(alert.limit_quantity),
        "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(),
        "blocked": blocked,
        "created_at": now.isoformat(),
    }
    messages = [Notification("email", f"{key}:email", email, subject, {**body, "id": f"{key}:email"})]
    if webhook_url:
        messages.append(Notification("webhook", f"{key}:webhook", webhook_url, subject,
                                     {**body, "id": f"{key}:webhook"}))
    return messages
