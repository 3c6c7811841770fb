"""localstripe's workarounds, apart from the real-Stripe path.

localstripe (1.15, the local default) vs real Stripe, all handled here. `local=True`
means the localstripe that `infra/` launches, with its launcher's patches (a store
index, and `add_lines`: infra/localstripe_add_lines.py); a stock localstripe lacks
add_lines and cannot serve push_invoice.

1. Idempotency-Key is ignored by localstripe, hence the look-ups for what a crashed attempt created.
2. localstripe refuses invoices without a subscription. In local mode every
   customer gets one $0 "Meterline billing anchor" subscription (plan
   `meterline-billing-anchor-<currency>`), created once and found again by
   listing the customer's subscriptions (metadata `meterline_anchor`). Real
   Stripe creates one-off invoices with `pending_invoice_items_behavior=include`.
3. Creating that subscription makes a $0 paid invoice of its own; it carries
   none of our metadata, so invoice recovery never matches it.
4. Stock localstripe drops invoice metadata; the launched one keeps it (fixed by
   its launcher). Recovery also matches lines, which keep their item's metadata.
5. localstripe has no `finalize_invoice` (404) and pays drafts directly; real
   Stripe invoices are finalized before `pay`.
6. localstripe answers `invoice_items.list(pending=true)` with a 500; it needs no
   such list anyway, since creating its invoice sweeps the pending items in (the
   lines are then read off the invoice).
7. Payment method: in local mode `ensure_customer` attaches test card 4242...
   as the default so `pay` succeeds; on real Stripe the customer's payment
   method is collected by Stripe's hosted flows, never by us.
8. A declined card: real Stripe's `invoices.pay` raises a card error (402);
   localstripe returns 200 with the invoice still `open` and a failed charge.
   Both become PaymentDeclinedError.
9. Creating localstripe's anchor subscription invoices and charges every
   pending item of the customer at once (items an earlier adapter version left),
   so our invoice is looked for after the anchor is ensured.
10. `invoices.pay` on a paid invoice is a 400 on both; we check the status
    first, so paying twice is a no-op.
11. Lines (invoices.py). localstripe accepts none of those: its invoice hangs on the anchor (2.) and
    always takes in the customer's pending items (its only behaviour), so a rerun
    lists the new invoice's lines before adding the missing ones.

Caveat on localstripe: "include pending items" sweeps in EVERY pending item of
the customer. Since lines go in through add_lines, pending items exist only if an
earlier adapter version crashed between its items and its invoice; an invoice that
absorbed another invoice's items is refused by the total check in invoice_service
(PermanentError) rather than billed a wrong amount.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..errors import BillingError
from ..invoicing import InvoiceDraft
from .client import _NotFound
from .lines import _metadata

__all__ = ["LocalStripeWorkarounds"]

ANCHOR_KEY = "meterline_anchor"
ANCHOR_PRODUCT_ID = "meterline-billing-anchor"
ANCHOR_NAME = "Meterline billing anchor"
# localstripe accepts this test card number directly; real Stripe would not.
_LOCAL_TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
# Anchor plans known to exist, per process: a plan is never deleted by us, so one
# check per process and currency is enough. A store wiped under a running process
# (tests reset localstripe) shows up as a 404 on the subscription, which forgets it.
_ANCHOR_PLANS_SEEN: set[str] = set()


class LocalStripeWorkarounds:
    """What only a localstripe needs: the anchor subscription its invoices hang on, a test
    card. Put before CustomerCalls and InvoiceCalls (LocalStripeAdapter), it overrides
    their real-Stripe hooks."""

    def _customer_ready(self, customer: dict[str, Any]) -> None:
        self._remember_anchors(customer)
        self._ensure_local_payment_method(customer)  # 7.

    def _before_invoice_lookup(self, customer_id: str, currency: str) -> str | None:
        # The anchor comes FIRST. Creating a subscription invoices (and charges) every
        # pending item of the customer, so the invoice an earlier attempt's items ended
        # up on is looked for after it (9.).
        return self._anchor_subscription(customer_id, currency)

    def _create_invoice(self, customer_id: str, draft: InvoiceDraft, prepared: str | None, *, key: str,
                        metadata: dict[str, str]) -> dict[str, Any]:
        # Hung on the anchor subscription (2.; `prepared`), and with none of real Stripe's
        # creation options, which localstripe refuses (11.).
        return self._call(self._v1.invoices.create, key=key, customer=customer_id, subscription=prepared,
                          metadata=metadata)

    def _creation_swept_items_in(self, recover: bool) -> bool:
        # Its creation takes in every pending item of the customer (11.), which only a
        # rerun can have left; our own record (`recover`) tells a rerun apart.
        return recover

    def _pending_items(self, customer_id: str) -> Iterator[dict[str, Any]]:
        # `pending=true` is a 500 here (6.), and creation has already swept them in.
        return iter(())

    def _finalize(self, stripe_invoice_id: str) -> dict[str, Any] | None:
        return None  # no finalize_invoice (404); drafts are paid directly (5.)

    def _declined_without_error(self, invoice: dict[str, Any]) -> bool:
        # A declined charge is a 200 with the invoice still open (8.).
        return invoice["status"] == "open"

    def _remember_anchors(self, customer: dict[str, Any]) -> None:
        # A customer has one or two subscriptions here (the anchor per currency), so the
        # embedded first page holds them; one missing only costs the listing fallback.
        embedded = customer.get("subscriptions")
        if embedded is None:
            return
        live = {}
        for subscription in embedded.get("data") or []:
            code = _metadata(subscription).get(ANCHOR_KEY)
            if code and subscription.get("status") != "canceled":
                live[(customer["id"], code)] = subscription["id"]
        if not embedded.get("has_more"):
            # The whole list: an anchor remembered from earlier and absent now is gone
            # (one adapter serves a process for many runs).
            for key in list(self._anchors):  # a copy: other threads add to it meanwhile
                if key[0] == customer["id"] and key not in live:
                    self._anchors.pop(key, None)
            self._all_subscriptions_seen.add(customer["id"])
        self._anchors.update(live)

    def _ensure_local_payment_method(self, customer: dict[str, Any]) -> None:
        settings = customer.get("invoice_settings") or {}
        if settings.get("default_payment_method"):
            return
        customer_id = customer["id"]
        method = self._call(
            self._v1.payment_methods.create,
            key=f"meterline-test-card-{customer_id}",
            type="card",
            card=_LOCAL_TEST_CARD,
        )
        self._call(
            self._v1.payment_methods.attach,
            method["id"],
            key=f"meterline-attach-{method['id']}",
            customer=customer_id,
        )
        self._call(
            self._v1.customers.update,
            customer_id,
            key=f"meterline-default-pm-{customer_id}-{method['id']}",
            invoice_settings={"default_payment_method": method["id"]},
        )

    def _anchor_subscription(self, customer_id: str, currency: str) -> str:
        """localstripe only: the $0 subscription its invoices must hang on."""
        code = currency.lower()
        known = self._anchors.get((customer_id, code))
        if known is not None:
            return known
        listed = () if customer_id in self._all_subscriptions_seen else self._list(
            self._v1.subscriptions.list, customer=customer_id)
        for subscription in listed:
            if _metadata(subscription).get(ANCHOR_KEY) == code and subscription.get("status") != "canceled":
                self._anchors[(customer_id, code)] = subscription["id"]
                return subscription["id"]
        plan_id = self._ensure_anchor_plan(code)
        create = lambda: self._call(  # noqa: E731
            self._v1.subscriptions.create,
            key=f"meterline-anchor-sub-{customer_id}-{code}",
            customer=customer_id,
            items=[{"plan": plan_id}],
            metadata={ANCHOR_KEY: code},
        )
        try:
            subscription = create()
        except _NotFound:
            _ANCHOR_PLANS_SEEN.discard(plan_id)
            self._ensure_anchor_plan(code)
            subscription = create()
        self._anchors[(customer_id, code)] = subscription["id"]
        return subscription["id"]

    def _ensure_anchor_plan(self, code: str) -> str:
        plan_id = f"{ANCHOR_PRODUCT_ID}-{code}"
        if plan_id in _ANCHOR_PLANS_SEEN:
            return plan_id
        try:
            self._call(self._v1.plans.retrieve, plan_id)
            _ANCHOR_PLANS_SEEN.add(plan_id)
            return plan_id
        except _NotFound:
            pass
        try:
            self._call(self._v1.products.retrieve, ANCHOR_PRODUCT_ID)
        except _NotFound:
            self._create_with_our_id(
                self._v1.products.create, self._v1.products.retrieve, ANCHOR_PRODUCT_ID,
                key=f"meterline-{ANCHOR_PRODUCT_ID}", name=ANCHOR_NAME,
            )
        self._create_with_our_id(
            self._v1.plans.create, self._v1.plans.retrieve, plan_id,
            key=f"meterline-{plan_id}", product=ANCHOR_PRODUCT_ID, nickname=ANCHOR_NAME, amount=0, currency=code,
            interval="month",
        )
        _ANCHOR_PLANS_SEEN.add(plan_id)
        return plan_id

    def _create_with_our_id(self, create: Callable[..., Any], retrieve: Callable[..., Any], object_id: str,
                            *, key: str, **params: Any) -> None:
        """Create an object under an id we choose; one created meanwhile under that id (by
        another thread or process: many tenants need the same anchor plan at the start of
        a run) is as good. localstripe answers such a create 409, which would otherwise be
        retried as transient with backoff; real Stripe answers 400 resource_already_exists."""
        try:
            self._call(create, key=key, retry=False, id=object_id, **params)
        except BillingError as create_error:
            try:
                self._call(retrieve, object_id)
            except _NotFound:
                raise create_error from None
