"""Deliver what the outbox holds: webhooks always, email only when a mailer (SMTP) is configured.

Without SMTP, email rows stay unsent in the outbox, which is where the tenant
reads them (GET /v1/notifications/outbox). A failed delivery is counted on its
row and tried again on the next run, up to `max_attempts`; delivery is at
least once, receivers deduplicate on the message id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from .errors import BillingError
from .ports import Mailer, OutboxStore, PendingNotification, WebhookSender

__all__ = ["DeliveryReport", "deliver_pending"]


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)  # outbox ids
    failed: list[str] = field(default_factory=list)


def _email_text(message: PendingNotification) -> str:
    # Plain text: the subject says it all; the fields follow for whoever files it.
    return message.subject + "\n\n" + json.dumps(message.body, indent=2, sort_keys=True) + "\n"


def deliver_pending(*, store: OutboxStore, webhooks: WebhookSender, mailer: Mailer | None, now: datetime,
                    max_attempts: int = 10, batch: int = 500) -> DeliveryReport:
    channels = ("email", "webhook") if mailer is not None else ("webhook",)
    report = DeliveryReport()
    for message in store.pending(channels, max_attempts, batch):
        try:
            if message.channel == "webhook":
                if not message.webhook_secret or not message.recipient:
                    raise BillingError("the tenant's webhook target is no longer configured")
                webhooks.send(message.recipient, message.webhook_secret, str(message.body.get("id", message.id)),
                              message.body)
            else:
                if not message.recipient:
                    continue  # no address: it stays readable in the outbox
                assert mailer is not None
                mailer.send(message.recipient, message.subject, _email_text(message))
        except BillingError as exc:
            store.mark_failed(message.id, str(exc))
            report.failed.append(message.id)
            continue
        store.mark_sent(message.id, now)
        report.sent.append(message.id)
    return report
