"""Payment-provider events as changes to our invoices and payments. Pure.

(Which Stripe event means which change is the Stripe adapter's: billing_jobs/stripe/webhooks.py.)

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
from typing import Literal

from .ports import InvoiceStatus

__all__ = ["CustomerDeleted", "InvoiceChange", "PaymentRecord", "status_after"]

_RANK: dict[str, int] = {"draft": 0, "open": 1, "payment_failed": 2, "paid": 3, "refunded": 4, "void": 5}


def status_after(current: InvoiceStatus, incoming: InvoiceStatus) -> InvoiceStatus:
    """The invoice status once `incoming` is applied: only ever forward (see module doc)."""
    return incoming if _RANK[incoming] > _RANK[current] else current


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
