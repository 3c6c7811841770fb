"""Issue a tenant's invoice for a period: compose, store, push to Stripe, collect.

A state machine over the stored invoice, so it can be re-run after a crash at
any step and never bills twice:

    (none) --create--> draft --push+attach--> open --pay--> paid
                                                 \\--decline--> payment_failed

- The stored draft is the truth once it exists: a re-run does NOT recompose
  from fresh usage, because the Stripe invoice items are keyed on
  (number, line position) and must not change under the same keys. Late
  usage belongs on a later invoice.
- A crash after Stripe created the invoice but before we stored its id is
  recovered by the gateway, which finds the invoice by our number.
- paid, payment_failed and void end this flow; retrying declined payments is
  dunning's job, on its own schedule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from .corrections import CorrectedPeriod, PendingCorrection
from .errors import PaymentDeclinedError, PermanentError
from .invoicing import compose_invoice, invoice_number
from .period_invoice import compose_period_invoice
from .plans import Plan
from .segments import SubscriptionSegment
from .ports import InvoiceStatus, InvoiceStore, StoredInvoice, StripeGateway, StripeInvoiceRef

__all__ = ["issue_invoice"]

_FINAL: frozenset[InvoiceStatus] = frozenset({"paid", "payment_failed", "void", "refunded"})


def _updated(stored: StoredInvoice, **changes) -> StoredInvoice:
    """`stored` after the store applied `changes` to it: the store raises if the invoice
    vanished, and nothing else of an invoice changes once its draft is stored, so it is
    not read back (two statements an invoice, twice per invoice issued)."""
    return stored.model_copy(update=changes)


def _check_total(stored: StoredInvoice, ref: StripeInvoiceRef) -> None:
    if ref.total_minor != stored.draft.total_minor:
        raise PermanentError(
            f"Stripe invoice {ref.stripe_invoice_id} totals {ref.total_minor}, "
            f"invoice {stored.number} totals {stored.draft.total_minor}"
        )


def _create(store: InvoiceStore, *, tenant_id: str, tenant_slug: str, plan: Plan | None,
            usage: Mapping[str, Decimal] | None, period_start: date, period_end: date,
            segments: Sequence[SubscriptionSegment] | None, corrections: Sequence[PendingCorrection],
            corrected_periods: Mapping[str, CorrectedPeriod] | None) -> StoredInvoice:
    """Compose the period's invoice and store it as a draft (with the corrections it bills)."""
    applied: Sequence = ()
    if segments is not None:
        # The one rating path of a period's invoice, also the admin API's preview's.
        draft, applied = compose_period_invoice(
            tenant_id=tenant_id, tenant_slug=tenant_slug, segments=segments, period_start=period_start,
            period_end=period_end, corrections=corrections, corrected_periods=corrected_periods)
    elif plan is not None:
        draft = compose_invoice(
            tenant_slug=tenant_slug,
            tenant_id=tenant_id,
            plan=plan,
            usage=usage or {},
            period_start=period_start,
            period_end=period_end,
        )
    else:
        raise ValueError("issue_invoice needs a plan or segments")
    if applied:
        return store.create(tenant_id, draft, applied_corrections=applied)
    return store.create(tenant_id, draft)


def issue_invoice(
    *,
    store: InvoiceStore,
    gateway: StripeGateway,
    tenant_id: str,
    tenant_slug: str,
    customer_id: str,
    plan: Plan | None = None,
    usage: Mapping[str, Decimal] | None = None,
    period_start: date,
    period_end: date,
    segments: Sequence[SubscriptionSegment] | None = None,
    corrections: Sequence[PendingCorrection] = (),
    corrected_periods: Mapping[str, CorrectedPeriod] | None = None,
) -> StoredInvoice:
    """Bring the period's invoice as far as it can go; safe to call repeatedly.

    `customer_id` comes from `gateway.ensure_customer`, stored with the tenant
    by the caller. Pass either `plan` and `usage` (one plan for the whole
    period) or `segments` (the plans in force, each with its usage). Raises RetryableError for the caller's retry policy and
    PermanentError for a human; a declined card is not raised but recorded.

    `corrections` (pending late usage of earlier invoices, with `corrected_periods`
    to rate them) become lines of their own when this invoice is first composed,
    and are marked applied by the store in the transaction that stores it (restatements of
    MAX and LATEST meters with the amount they billed: billing_jobs.corrections).
    """
    number = invoice_number(tenant_slug, period_start)
    stored = store.get(tenant_id, number)
    if stored is None:
        stored = _create(store, tenant_id=tenant_id, tenant_slug=tenant_slug, plan=plan, usage=usage,
                         period_start=period_start, period_end=period_end, segments=segments,
                         corrections=corrections, corrected_periods=corrected_periods)
    if stored.status in _FINAL:
        return stored

    pushed: StripeInvoiceRef | None = None
    if stored.stripe_invoice_id is None:
        # Our own record decides whether Stripe may already hold part of this
        # invoice (a crashed or concurrent earlier push): only then does the
        # gateway pay for the look-ups; the first push goes straight to creating.
        first_push = store.start_stripe_push(tenant_id, number)
        pushed = gateway.push_invoice(customer_id, stored.draft, None, recover=not first_push)
        _check_total(stored, pushed)
        status = pushed.invoice_status
        store.attach_stripe(tenant_id, number, pushed.stripe_invoice_id, status)
        stored = _updated(stored, stripe_invoice_id=pushed.stripe_invoice_id, status=status)
        if stored.status in _FINAL:  # e.g. a zero invoice Stripe marked paid
            return stored

    assert stored.stripe_invoice_id is not None
    try:
        # The status the push just returned saves reading the invoice back.
        ref = gateway.pay_invoice(stored.stripe_invoice_id, pushed.status if pushed is not None else None)
    except PaymentDeclinedError:
        store.set_status(tenant_id, number, "payment_failed")
        return _updated(stored, status="payment_failed")
    status = ref.invoice_status
    store.set_status(tenant_id, number, status)
    return _updated(stored, status=status)
