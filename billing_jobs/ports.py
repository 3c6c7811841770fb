"""Ports: what the billing domain needs from the outside, as Protocols.

`stripe_adapter.StripeAdapter` implements StripeGateway; the PostgreSQL store
(tables `invoice` and `invoice_line` in the tenant schema) implements
InvoiceStore. Implementations raise errors from `billing_jobs.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from .errors import PaymentDeclinedError, PermanentError, RetryableError
from .invoicing import InvoiceDraft

__all__ = [
    "DunningStore",
    "InvoiceStatus",
    "InvoiceStore",
    "PaymentDeclinedError",
    "PermanentError",
    "RetryableError",
    "StoredInvoice",
    "StripeGateway",
    "StripeInvoiceRef",
]

# draft: stored, not yet in Stripe; open: in Stripe, unpaid; then one of the rest.
InvoiceStatus = Literal["draft", "open", "paid", "payment_failed", "void", "refunded"]


class StoredInvoice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    draft: InvoiceDraft
    status: InvoiceStatus = "draft"
    stripe_invoice_id: str | None = None

    @property
    def number(self) -> str:
        return self.draft.number


@dataclass(frozen=True, slots=True)
class StripeInvoiceRef:
    stripe_invoice_id: str
    status: str  # Stripe's own: draft, open, paid, uncollectible, void
    total_minor: int


class StripeGateway(Protocol):
    def ensure_customer(
        self, tenant_id: str, name: str, email: str, existing_customer_id: str | None
    ) -> str:
        """Return the tenant's Stripe customer id, creating it at most once."""
        ...

    def push_invoice(
        self, customer_id: str, draft: InvoiceDraft, existing_stripe_invoice_id: str | None
    ) -> StripeInvoiceRef:
        """Create the Stripe invoice for `draft`, or find the one already created."""
        ...

    def pay_invoice(self, stripe_invoice_id: str) -> StripeInvoiceRef:
        """Collect payment; already-paid is success. Declines raise PaymentDeclinedError."""
        ...


class InvoiceStore(Protocol):
    def get(self, tenant_id: str, number: str) -> StoredInvoice | None: ...

    def create(self, tenant_id: str, draft: InvoiceDraft) -> StoredInvoice:
        """Insert as status 'draft'; if `draft.number` exists, return the stored one unchanged."""
        ...

    def attach_stripe(self, tenant_id: str, number: str, stripe_invoice_id: str, status: InvoiceStatus) -> None: ...

    def set_status(self, tenant_id: str, number: str, status: InvoiceStatus) -> None: ...


class DunningStore(Protocol):
    """Implemented by warehouse.postgres.billing_dunning.PgDunningStore."""

    def dunning_invoices(self, tenant_id: str) -> list:  # list[dunning.DunningInvoice]
        """Unpaid invoices and those whose dunning escalated, with the steps already recorded."""
        ...

    def apply_step(self, tenant_id: str, action, now) -> bool:  # action: dunning.DunningAction
        """Record the step and carry out its effect in one transaction; False if it was recorded before."""
        ...

    def set_status(self, tenant_id: str, number: str, status: InvoiceStatus) -> None: ...
