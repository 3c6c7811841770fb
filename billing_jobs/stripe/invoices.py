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
    """StripeAdapter's invoice half, on real Stripe (a mixin over StripeApi). Where
    localstripe differs, a hook method (`_create_invoice`, `_finalize`, ...) is
    overridden in localstripe.py."""

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
        prepared = self._before_invoice_lookup(customer_id, draft.currency)
        found = self._find_invoice(customer_id, draft.number) if recover else None
        invoice = found
        if invoice is None:
            invoice = self._create_invoice(customer_id, draft, prepared,
                                           key=f"meterline-invoice-{draft.tenant_id}-{draft.number}",
                                           metadata={NUMBER_KEY: draft.number, TENANT_KEY: draft.tenant_id})
        elif invoice.get("status") != "draft":
            return _ref(invoice)  # finalized only after every line was added
        # What the invoice already holds: lines an earlier attempt added (a found
        # invoice), or items its creation swept in (localstripe only).
        present = self._list(self._v1.invoices.line_items.list, invoice["id"]) \
            if found is not None or self._creation_swept_items_in(recover) else ()
        # Items an earlier version of this adapter created for the invoice, one per line,
        # before a crash: assigned to the invoice rather than billed again.
        pending = self._pending_items(customer_id) if recover else ()
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

    def _before_invoice_lookup(self, customer_id: str, currency: str) -> str | None:
        """What creating the invoice will need (handed to _create_invoice). Real Stripe:
        nothing to do before looking for an earlier attempt's invoice."""
        return None

    def _create_invoice(self, customer_id: str, draft: InvoiceDraft, prepared: str | None, *, key: str,
                        metadata: dict[str, str]) -> dict[str, Any]:
        return self._call(
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

    def _creation_swept_items_in(self, recover: bool) -> bool:
        """Real Stripe: a new invoice is empty (pending items excluded)."""
        return False

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
        """The customer's pending items, not on any invoice yet."""
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
        if status == "draft":
            invoice = self._finalize(stripe_invoice_id)
            if invoice is not None and invoice["status"] == "paid":  # a zero total is paid on finalization
                return _ref(invoice)
        # A stable key: a retry after a network error cannot charge twice. A
        # declined attempt is cached by Stripe for 24 h under this key, so
        # dunning's later retries go through this method on another day.
        invoice = self._call(self._v1.invoices.pay, stripe_invoice_id, key=f"meterline-pay-{stripe_invoice_id}")
        if self._declined_without_error(invoice):
            raise PaymentDeclinedError(f"stripe: payment of {stripe_invoice_id} was declined")
        return _ref(invoice)

    def _finalize(self, stripe_invoice_id: str) -> dict[str, Any] | None:
        """The finalized invoice (a draft cannot be paid on real Stripe)."""
        return self._call(
            self._v1.invoices.finalize_invoice,
            stripe_invoice_id,
            key=f"meterline-finalize-{stripe_invoice_id}",
            auto_advance=False,
        )

    def _declined_without_error(self, invoice: dict[str, Any]) -> bool:
        """Real Stripe raises a card error (402) for a declined charge: never."""
        return False
