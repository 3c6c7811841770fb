"""Applying a payment provider's event once, after its signature is verified."""

from __future__ import annotations

import time

from billing_jobs.errors import InvalidWebhookError
from billing_jobs.stripe import interpret_event, parse_event, verify_webhook
from billing_jobs.stripe.webhooks import WEBHOOK_TOLERANCE_S
from billing_jobs.webhook_signing import signed_in_future
from warehouse.postgres.billing_webhooks import record_stripe_event
from warehouse.postgres.database import Database

from ..domain_errors import MalformedRequest

__all__ = ["receive_stripe_event"]


async def receive_stripe_event(database: Database, webhook_secret: str, payload: bytes,
                               signature: str) -> tuple[str, str]:
    """(event id, outcome) of a verified event."""
    if signed_in_future(signature, int(time.time()), WEBHOOK_TOLERANCE_S):
        raise MalformedRequest("bad signature: timestamp outside the tolerance zone", code="invalid_webhook")
    try:
        event = parse_event(verify_webhook(payload, signature, webhook_secret))
    except (InvalidWebhookError, ValueError) as exc:
        raise MalformedRequest(str(exc), code="invalid_webhook") from None
    async with database.begin() as conn:
        outcome = await record_stripe_event(conn, event.id, event.type, event.created, interpret_event(event))
    return event.id, outcome
