"""Applying a payment provider's event once, after its signature is verified.

Bodies that no event can have are refused (400) before the verifier sees them: it
(billing_jobs.stripe) reads only a JSON object, and fails otherwise with errors of
its own kind. A verified event must then have the shape billing reads (schemas.py).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from billing_jobs.errors import InvalidWebhookError
from billing_jobs.stripe import interpret_event, parse_event, verify_webhook
from billing_jobs.stripe.webhooks import WEBHOOK_TOLERANCE_S
from billing_jobs.webhook_signing import signed_in_future
from warehouse.postgres.billing_webhooks import record_stripe_event
from warehouse.postgres.database import Database

from ..domain_errors import MalformedRequest
from .schemas import event_problems

__all__ = ["receive_stripe_event", "MAX_EVENT_DEPTH"]

# Stripe events nest about ten levels; far deeper is no event, and the JSON decoder
# recurses once per level.
MAX_EVENT_DEPTH = 64
# What PostgreSQL cannot hold anywhere in text or JSONB: NUL, and lone surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _malformed(reason: str) -> MalformedRequest:
    return MalformedRequest(reason, code="invalid_webhook")


def _depth_and_storable(document: Any) -> int:
    """The nesting depth of `document`; raises when a key or string holds what PostgreSQL cannot."""
    deepest, pending = 0, [(document, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            pending.extend((key, depth) for key in node)
            pending.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            pending.extend((item, depth + 1) for item in node)
        elif isinstance(node, str) and _UNSTORABLE.search(node):
            raise _malformed("the event holds a NUL character or a lone surrogate")
    return deepest


def _readable_object(payload: bytes) -> None:
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        raise _malformed("the body is not JSON (or is nested too deep)") from None
    if not isinstance(document, dict):
        raise _malformed("the body is not a JSON object")
    if _depth_and_storable(document) > MAX_EVENT_DEPTH:
        raise _malformed(f"the event is nested deeper than {MAX_EVENT_DEPTH} levels")


async def receive_stripe_event(database: Database, webhook_secret: str, payload: bytes,
                               signature: str) -> tuple[str, str]:
    """(event id, outcome) of a verified event."""
    _readable_object(payload)
    # The SDK refuses stale timestamps only; one from the future is as suspect.
    if signed_in_future(signature, int(time.time()), WEBHOOK_TOLERANCE_S):
        raise _malformed("bad signature: timestamp outside the tolerance zone")
    try:
        verified = verify_webhook(payload, signature, webhook_secret)
    except InvalidWebhookError as exc:
        raise _malformed(str(exc)) from None
    problem = event_problems(verified)
    if problem is not None:
        raise _malformed(f"not an event billing can read: {problem}")
    try:
        event = parse_event(verified)
    except ValueError as exc:
        raise _malformed(str(exc)) from None
    async with database.begin() as conn:
        outcome = await record_stripe_event(conn, event.id, event.type, event.created, interpret_event(event))
    return event.id, outcome
