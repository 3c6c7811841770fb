"""Stripe invoices: push a draft (an empty invoice, then its lines in one add_lines call) and collect it.

Invoices an earlier, crashed attempt created are found among the customer's
invoices by invoice metadata, or by the metadata/description of their lines.

Lines. The invoice is created empty and all its lines are added in ONE
`POST /v1/invoices/{id}/add_lines` (up to 250 a call): 2 calls an invoice where
an item per line took 15 or so. Real Stripe: created with
`pending_invoice_items_behavior=exclude`, `currency`, `auto_advance=false`.
localstripe's differences are marked here and live in `localstripe.py`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from ..errors import PaymentDeclinedError, PermanentError
from ..invoicing import InvoiceDraft
from ..ports import InvoiceStatus, StripeInvoiceRef
from .lines import NUMBER_KEY, TENANT_KEY, _metadata, lines_to_add

__all__ = ["InvoiceCalls", "invoice_status"]

# Stripe's limit on the lines of one add_lines call (the launched localstripe's too).
_MAX_LINES_PER_CALL = 250


# Stripe's invoice statuses as ours: the only place billing meets Stripe's names.
_INVOICE_STATUSES: dict[str, InvoiceStatus] = {
    "draft": "open",  # in Stripe, not yet finalized (localstripe never finalizes)
    "open": "open",
    "paid": "paid",
    "uncollectible": "payment_failed",
    "void": "void",
}


def invoice_status(stripe_status: str) -> InvoiceStatus:
    try:
        return _INVOICE_STATUSES[stripe_status]
    except KeyError:
        raise PermanentError(f"unexpected Stripe invoice status {stripe_status!r}") from None


def _ref(invoice: dict[str, Any]) -> StripeInvoiceRef:
    return StripeInvoiceRef(
        stripe_invoice_id=invoice["id"],
        status=invoice["status"],
        total_minor=int(invoice["total"]),
        invoice_status=invoice_status(invoice["status"]),
    )



class InvoiceCalls:
    """StripeAdapter's invoice half (a mixin over StripeApi and LocalStripeWorkarounds)."""

    def push_invoice(
        self, customer_id: str, draft: InvoiceDraft, existing_stripe_invoice_id: str | None,
        *, recover: bool = True,
    ) -> StripeInvoiceRef:
        """`recover=False` (the caller's own record says no push of this invoice
        started before) skips the look-ups for an invoice and items a crashed attempt
        created: the list calls that cost most, and grow with the account."""
        if existing_stripe_invoice_id:
            invoice = self._call(self._v1.invoices.retrieve, existing_stripe_invoice_id)
            if invoice.get("customer") != customer_id:
                raise PermanentError(
                    f"Stripe invoice {existing_stripe_invoice_id} belongs to "
                    f"{invoice.get('customer')}, not {customer_id}"
                )
            return _ref(invoice)
        return self._push_with_added_lines(customer_id, draft, recover)

    def _push_with_added_lines(self, customer_id: str, draft: InvoiceDraft, recover: bool) -> StripeInvoiceRef:
        """An empty draft invoice, then all its lines in one add_lines call (2 calls
        however many lines, where an invoice item per line took one each). Recovery
        adds only the lines the draft lacks."""
        # localstripe: the anchor comes FIRST. Creating a subscription invoices (and
        # charges) every pending item of the customer, so the invoice an earlier
        # attempt's items ended up on is looked for after it (9.).
        subscription_id = self._anchor_subscription(customer_id, draft.currency) if self._local else None
        found = self._find_invoice(customer_id, draft.number) if recover else None
        invoice = found
        metadata = {NUMBER_KEY: draft.number, TENANT_KEY: draft.tenant_id}
        key = f"meterline-invoice-{draft.tenant_id}-{draft.number}"
        if invoice is None and self._local:
            invoice = self._call(self._v1.invoices.create, key=key, customer=customer_id,
                                 subscription=subscription_id, metadata=metadata)
        elif invoice is None:
            invoice = self._call(
                self._v1.invoices.create,
                key=key,
                customer=customer_id,
                currency=draft.currency.lower(),
                # Our lines only: a pending item of the customer's is not ours to bill.
                pending_invoice_items_behavior="exclude",
                collection_method="charge_automatically",
                # We finalize and pay explicitly; Stripe must not do it on its own clock.
                auto_advance=False,
                metadata=metadata,
            )
        elif invoice.get("status") != "draft":
            return _ref(invoice)  # finalized only after every line was added
        # What the invoice already holds: lines an earlier attempt added (a found
        # invoice), or, on localstripe, pending items its creation just swept in; only
        # possible on a rerun, which our own record (`recover`) tells apart.
        present = self._list(self._v1.invoices.line_items.list, invoice["id"]) \
            if found is not None or (self._local and recover) else ()
        # Items an earlier version of this adapter created for the invoice, one per line,
        # before a crash: assigned to the invoice rather than billed again. (localstripe's
        # invoice creation has already taken them in.)
        pending = self._pending_items(customer_id) if recover and not self._local else ()
        lines = lines_to_add(draft, present, pending)
        for start in range(0, len(lines), _MAX_LINES_PER_CALL):
            chunk = lines[start:start + _MAX_LINES_PER_CALL]
            invoice = self._call(
                self._v1.invoices.add_lines,
                invoice["id"],
                # The same lines get the same key, so a retry cannot add them twice.
                key=f"meterline-lines-{invoice['id']}-{hashlib.sha256(repr(chunk).encode()).hexdigest()[:24]}",
                lines=chunk,
            )
        return _ref(invoice)

    def _find_invoice(self, customer_id: str, number: str) -> dict[str, Any] | None:
        for invoice in self._list(self._v1.invoices.list, customer=customer_id):
            if _metadata(invoice).get(NUMBER_KEY) == number:
                return invoice
            # Stock localstripe drops invoice metadata; the lines keep their item's.
            lines = (invoice.get("lines") or {}).get("data") or []
            for line in lines:
                if _metadata(line).get(NUMBER_KEY) == number or (line.get("description") or "").startswith(
                    f"{number} #"
                ):
                    return invoice
        return None

    def _pending_items(self, customer_id: str) -> Iterator[dict[str, Any]]:
        """Real Stripe only (localstripe answers `pending=true` with a 500, see 6. above)."""
        items = self._list(self._v1.invoice_items.list, customer=customer_id, pending=True)
        return (item for item in items if not item.get("invoice"))

    def pay_invoice(self, stripe_invoice_id: str, known_status: str | None = None) -> StripeInvoiceRef:
        """`known_status`: what push_invoice just returned for this invoice, so it is not
        read back. A stale one is harmless: paying a paid invoice is a 400 (Permanent),
        never a second charge."""
        status = known_status
        if status in (None, "paid", "void"):
            invoice = self._call(self._v1.invoices.retrieve, stripe_invoice_id)
            status = invoice["status"]
            if status in ("paid", "void"):
                return _ref(invoice)
        if status == "draft" and not self._local:
            invoice = self._call(
                self._v1.invoices.finalize_invoice,
                stripe_invoice_id,
                key=f"meterline-finalize-{stripe_invoice_id}",
                auto_advance=False,
            )
            if invoice["status"] == "paid":  # a zero total is paid on finalization
                return _ref(invoice)
        # A stable key: a retry after a network error cannot charge twice. A
        # declined attempt is cached by Stripe for 24 h under this key, so
        # dunning's later retries go through this method on another day.
        invoice = self._call(self._v1.invoices.pay, stripe_invoice_id, key=f"meterline-pay-{stripe_invoice_id}")
        if self._local and invoice["status"] == "open":
            # localstripe answers a declined charge with 200 and an open
            # invoice; real Stripe raises a card error (402). Same outcome here.
            raise PaymentDeclinedError(f"stripe: payment of {stripe_invoice_id} was declined")
        return _ref(invoice)
