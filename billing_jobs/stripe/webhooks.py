"""Stripe webhook signatures (localstripe signs with the same scheme as Stripe)."""

from __future__ import annotations

from typing import Any

import stripe

from ..errors import InvalidWebhookError

__all__ = ["WEBHOOK_TOLERANCE_S", "verify_webhook"]

WEBHOOK_TOLERANCE_S = 300  # Stripe's own default: older signatures are replays


def verify_webhook(payload: bytes, signature_header: str, secret: str,
                   tolerance_s: int = WEBHOOK_TOLERANCE_S) -> dict[str, Any]:
    """The event in `payload` if `Stripe-Signature` signs it with `secret` within the tolerance.

    Wrong, missing or stale signatures and bodies that are not an event raise
    InvalidWebhookError. (localstripe signs with the same scheme as Stripe.)
    """
    if not signature_header:
        raise InvalidWebhookError("missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, secret, tolerance=tolerance_s)
    except stripe.SignatureVerificationError as err:
        raise InvalidWebhookError(f"bad signature: {err.user_message or err}") from None
    except ValueError as err:
        raise InvalidWebhookError(f"not a JSON event: {err}") from None
    return event.to_dict()
