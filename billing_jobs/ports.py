"""Ports: what the billing domain needs from the outside, as Protocols.

`billing_jobs.stripe.StripeAdapter` implements StripeGateway; the PostgreSQL store
(tables `invoice` and `invoice_line` in the tenant schema) implements
InvoiceStore, and warehouse.postgres.billing_run.PgInvoiceRunStore InvoiceRunStore. Implementations raise errors from `billing_jobs.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from .corrections import AppliedCorrection, CorrectedPeriod, PendingCorrection
from .errors import PaymentDeclinedError, PermanentError, RetryableError
from .invoicing import InvoiceDraft
from .plans import Plan
from .segments import SubscriptionSpan
from .usage_totals import UsageHour

__all__ = [
    "BillingTenant",
    "InvoiceRunStore",
    "TenantPeriod",
    "DunningStore",
    "LimitStore",
    "LimitSubject",
    "Mailer",
    "OutboxStore",
    "PendingNotification",
    "WebhookSender",
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
    # Stripe's own status, for the adapter only: billing never reads it, it only hands
    # it back (pay_invoice's known_status) so that the invoice is not read again.
    status: str
    total_minor: int
    invoice_status: InvoiceStatus  # ours, mapped from Stripe's by the adapter


class StripeGateway(Protocol):
    def ensure_customer(
        self, tenant_id: str, name: str, email: str, existing_customer_id: str | None,
        *, recover: bool = True,
    ) -> str:
        """Return the tenant's Stripe customer id, creating it at most once.

        `recover=False` only when our own record proves no creation of this tenant's
        customer started before (warehouse.postgres.billing_customers): the look-up by
        email for a customer a crashed attempt created is skipped."""
        ...

    def push_invoice(
        self, customer_id: str, draft: InvoiceDraft, existing_stripe_invoice_id: str | None,
        *, recover: bool = True,
    ) -> StripeInvoiceRef:
        """Create the Stripe invoice for `draft`, or find the one already created.

        `recover=False` only when our own record proves this is the invoice's first
        push (InvoiceStore.start_stripe_push): nothing of it can be in Stripe, so the
        look-ups for what a crashed attempt left are skipped."""
        ...

    def pay_invoice(self, stripe_invoice_id: str, known_status: str | None = None) -> StripeInvoiceRef:
        """Collect payment; already-paid is success. Declines raise PaymentDeclinedError.

        `known_status`: the Stripe status this process just received for the invoice
        (from push_invoice), so it need not be read again; None reads it."""
        ...


class InvoiceStore(Protocol):
    def get(self, tenant_id: str, number: str) -> StoredInvoice | None: ...

    def create(self, tenant_id: str, draft: InvoiceDraft,
               applied_corrections: Sequence[AppliedCorrection] = ()) -> StoredInvoice:
        """Insert as status 'draft'; if `draft.number` exists, return the stored one unchanged.

        `applied_corrections` (usage_correction id, quantity and event count billed, and a
        restatement's amount) are marked applied to this invoice in the same transaction; if
        one changed meanwhile (the stream added to it), nothing is stored and RetryableError
        is raised."""
        ...

    def start_stripe_push(self, tenant_id: str, number: str) -> bool:
        """Record, before the first Stripe write, that the push of `number` started.

        True only for the one call that set the record (committed on return): that
        push is the first and may skip crash recovery. False when a push started
        before (it may have crashed half-way, or run concurrently): look Stripe up."""
        ...

    def attach_stripe(self, tenant_id: str, number: str, stripe_invoice_id: str, status: InvoiceStatus) -> None:
        """Store the Stripe id and status; PermanentError if `number` is not stored."""
        ...

    def set_status(self, tenant_id: str, number: str, status: InvoiceStatus) -> None:
        """PermanentError if `number` is not stored."""
        ...


@dataclass(frozen=True, slots=True)
class BillingTenant:
    tenant_id: str
    slug: str
    name: str
    stripe_customer_id: str | None


@dataclass(frozen=True, slots=True)
class TenantPeriod:
    """What a tenant's invoice for a period is composed from, read in one go."""

    tenant: BillingTenant
    meter_aggregations: Mapping[str, str]  # {meter slug: aggregation} of every meter, usage or not
    hours: Sequence[UsageHour]  # the period's hourly rows, in time order
    corrections: Sequence[PendingCorrection]  # late usage of earlier invoices, not billed yet
    corrected_periods: Mapping[str, CorrectedPeriod]  # those invoices' periods, by number


class InvoiceRunStore(InvoiceStore, Protocol):
    """What the invoice run (billing_jobs.invoice_run) reads and writes besides the invoices."""

    def billable_spans(self, period_start: date, period_end: date) -> dict[str, list[SubscriptionSpan]]:
        """{tenant id: subscriptions in force at some point of the period, oldest first}."""
        ...

    def read_period(self, tenant_id: str, period_start: date, period_end: date) -> TenantPeriod: ...

    def start_customer_creation(self, tenant_id: str) -> bool:
        """True for the one caller that first marks the tenant's customer creation started
        (committed on return, before any Stripe call); False if one started before."""
        ...

    def set_customer_id(self, tenant_id: str, customer_id: str) -> None: ...


class DunningStore(Protocol):
    """Implemented by warehouse.postgres.billing_dunning.PgDunningStore."""

    def dunning_invoices(self, tenant_id: str) -> list:  # list[dunning.DunningInvoice]
        """Unpaid invoices and those whose dunning escalated, with the steps already recorded."""
        ...

    def apply_step(self, tenant_id: str, action, now) -> bool:  # action: dunning.DunningAction
        """Record the step and carry out its effect in one transaction; False if it was recorded before."""
        ...

    def set_status(self, tenant_id: str, number: str, status: InvoiceStatus) -> None: ...


# --- Limit alerts and notifications (billing_jobs.limits_service, notify_service) ---

@dataclass(frozen=True, slots=True)
class LimitSubject:
    """A tenant on a live subscription: whose usage is checked against `plan.limits`."""

    tenant_id: str
    tenant_slug: str
    plan: Plan
    started_at: datetime  # usage before it was under another plan
    # The tenant's own alert thresholds (percent of each limit); None: the platform's default.
    thresholds: tuple[int, ...] | None = None


class LimitStore(Protocol):
    """Implemented by warehouse.postgres.billing_limits.PgLimitStore."""

    def subjects(self) -> list[LimitSubject]: ...

    def usage(self, tenant_id: str, start, end) -> dict:  # {meter slug: Decimal} for windows in [start, end)
        ...

    def recorded_alerts(self, tenant_id: str, period_start) -> set[tuple[str, str, int]]: ...

    def targets(self, tenant_id: str) -> tuple[str | None, str | None]:
        """(billing email, webhook URL) of the tenant."""
        ...

    def record(self, tenant_id: str, period_start, period_end, plan_slug: str, alerts: list,
               notifications: dict, blocked: list[str]) -> list:
        """In one transaction: each alert once (those already recorded are skipped, with their
        notifications), the notifications of the new ones into the outbox, the blocks.
        `notifications` maps an alert to its messages; returns the alerts newly recorded."""
        ...


@dataclass(frozen=True, slots=True)
class PendingNotification:
    id: str
    tenant_id: str
    channel: str  # email | webhook
    recipient: str | None
    subject: str
    body: dict
    webhook_secret: str | None
    attempts: int


class OutboxStore(Protocol):
    """Implemented by warehouse.postgres.billing_notify.PgOutbox."""

    def pending(self, channels: tuple[str, ...], max_attempts: int, limit: int) -> list[PendingNotification]: ...

    def mark_sent(self, notification_id: str, now) -> None: ...

    def mark_failed(self, notification_id: str, error: str) -> None: ...


class WebhookSender(Protocol):
    def send(self, url: str, secret: str, event_id: str, body: dict) -> None:
        """POST the signed body; retries transient failures itself, then raises RetryableError
        (or PermanentError for a 4xx)."""
        ...


class Mailer(Protocol):
    def send(self, recipient: str, subject: str, text: str) -> None: ...
