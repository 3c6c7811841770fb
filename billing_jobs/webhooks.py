"""Stripe webhook events: what each one means for our invoices and payments. Pure.

Deliveries may repeat (replays are stopped by the event-id record in the
adapter) and may arrive out of order. Order is resolved by precedence, not by
arrival: an invoice only moves forward along

    draft < open < payment_failed < paid < refunded < void

so a `payment_failed` delivered after the `paid` that followed it changes
nothing, and a late `paid` cannot undo a refund. (Stripe's own lifecycle never
goes backwards along this order either: a paid invoice cannot fail or be
voided, only refunded; a voided one is never paid, so refunded and void
never meet: their order only makes the order total.) Every payment attempt
is still recorded, whatever the order, under its own Stripe id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from .ports import InvoiceStatus

__all__ = [
    "CustomerDeleted",
    "InvoiceChange",
    "PaymentRecord",
    "StripeEvent",
    "interpret_event",
    "parse_event",
    "status_after",
]

_RANK: dict[str, int] = {"draft": 0, "open": 1, "payment_failed": 2, "paid": 3, "refunded": 4, "void": 5}


def status_after(current: InvoiceStatus, incoming: InvoiceStatus) -> InvoiceStatus:
    """The invoice status once `incoming` is applied: only ever forward (see module doc)."""
    return incoming if _RANK[incoming] > _RANK[current] else current


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


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    stripe_payment_id: str
    amount_minor: int
    status: Literal["succeeded", "failed", "refunded"]


@dataclass(frozen=True, slots=True)
class InvoiceChange:
    """Move the invoice `stripe_invoice_id` of `customer_id` towards `status`; record `payment`."""

    customer_id: str | None
    stripe_invoice_id: str
    status: InvoiceStatus | None
    payment: PaymentRecord | None


@dataclass(frozen=True, slots=True)
class CustomerDeleted:
    customer_id: str


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
