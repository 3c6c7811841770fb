"""Stripe webhooks: their signatures (localstripe signs with the same scheme as Stripe), and
what each Stripe event means for our invoices (billing_jobs.webhooks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import stripe

from ..errors import InvalidWebhookError
from ..ports import InvoiceStatus
from ..webhooks import CustomerDeleted, InvoiceChange, PaymentRecord

__all__ = ["WEBHOOK_TOLERANCE_S", "StripeEvent", "interpret_event", "parse_event", "verify_webhook"]

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


@dataclass(frozen=True, slots=True)
class StripeEvent:
    id: str
    type: str
    created: datetime
    object: dict[str, Any]


def parse_event(event: dict[str, Any]) -> StripeEvent:
    try:
        return StripeEvent(
            id=str(event["id"]),
            type=str(event["type"]),
            created=datetime.fromtimestamp(int(event["created"]), tz=timezone.utc),
            object=dict(event["data"]["object"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a Stripe event: {exc!r}") from None


_INVOICE_STATUS: dict[str, InvoiceStatus] = {
    "invoice.paid": "paid",
    "invoice.payment_succeeded": "paid",
    "invoice.payment_failed": "payment_failed",
    "invoice.voided": "void",
    "invoice.marked_uncollectible": "payment_failed",
}


def _payment_id(obj: dict[str, Any], event: StripeEvent) -> str:
    # The charge (or payment intent) identifies the attempt; without one the
    # event itself does, which is still once per attempt.
    return str(obj.get("charge") or obj.get("payment_intent") or event.id)


def interpret_event(event: StripeEvent) -> InvoiceChange | CustomerDeleted | None:
    """The change an event asks for, or None for events billing does not follow."""
    obj = event.object
    if event.type in _INVOICE_STATUS:
        status = _INVOICE_STATUS[event.type]
        payment = None
        if status == "paid":
            payment = PaymentRecord(_payment_id(obj, event), int(obj.get("amount_paid") or obj.get("total") or 0),
                                    "succeeded")
        elif event.type == "invoice.payment_failed":
            payment = PaymentRecord(f"{_payment_id(obj, event)}:{event.id}",
                                    int(obj.get("amount_due") or obj.get("total") or 0), "failed")
        return InvoiceChange(obj.get("customer"), str(obj["id"]), status, payment)
    if event.type == "charge.refunded":
        if not obj.get("invoice"):
            return None
        refunded = int(obj.get("amount_refunded") or 0)
        # A partial refund is recorded as a payment; only a full one refunds the invoice.
        status: InvoiceStatus | None = "refunded" if obj.get("refunded") else None
        return InvoiceChange(obj.get("customer"), str(obj["invoice"]), status,
                             PaymentRecord(f"{obj['id']}:refund:{event.id}", refunded, "refunded"))
    if event.type == "customer.deleted":
        return CustomerDeleted(str(obj["id"]))
    return None
