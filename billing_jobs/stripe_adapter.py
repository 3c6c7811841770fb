"""Stripe adapter: the only module that imports `stripe`. Implements ports.StripeGateway.

Idempotency does not rest on the server alone. Every write carries an
`Idempotency-Key` derived from our ids (real Stripe dedups on it for 24 h),
AND before creating anything we look for what an earlier, crashed attempt
may already have created:

- customers: listed by email and matched on metadata `meterline_tenant_id`
  (skipped when the caller's own record proves no creation started before);
- lines: the draft invoice's lines matched on metadata `meterline_invoice_number`
  + `meterline_line_position` (the description also starts with
  "<number> #<position>:" as a second marker), so a rerun adds only the missing
  ones; pending invoice items an earlier version of this adapter created (one per
  line) are matched the same way and assigned to the invoice, never billed again;
- invoices: the customer's invoices matched on invoice metadata, or on the
  metadata/description of their lines.

localstripe (1.15, the local default) vs real Stripe, all handled here. `local=True`
means the localstripe that `infra/` launches, with its launcher's patches (a store
index, and `add_lines`: infra/localstripe_add_lines.py); a stock localstripe lacks
add_lines and cannot serve push_invoice.

1. Idempotency-Key is ignored by localstripe, hence the look-ups above.
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
11. In stripe 16 responses are StripeObjects, not dicts. We never build them: each
    call goes through the SDK's `raw_request` (same requestor, headers, encoding and
    error classes) and the JSON body is read as plain dicts (`_ROUTES` says why).
12. Lines. The invoice is created empty and all its lines are added in ONE
    `POST /v1/invoices/{id}/add_lines` (up to 250 a call): 2 calls an invoice where
    an item per line took 15 or so. Real Stripe: created with
    `pending_invoice_items_behavior=exclude`, `currency`, `auto_advance=false`.
    localstripe accepts none of those: its invoice hangs on the anchor (2.) and
    always takes in the customer's pending items (its only behaviour), so a rerun
    lists the new invoice's lines before adding the missing ones.

Caveat on localstripe: "include pending items" sweeps in EVERY pending item of
the customer. Since lines go in through add_lines, pending items exist only if an
earlier adapter version crashed between its items and its invoice; an invoice that
absorbed another invoice's items is refused by the total check in invoice_service
(PermanentError) rather than billed a wrong amount.

Errors: rate limit, lock_timeout, connection errors, 409 and 5xx become
RetryableError and are retried here with exponential backoff (tenacity, a few
attempts, the same idempotency key each time); card errors become
PaymentDeclinedError; invalid request, auth, permission and idempotency
conflicts become PermanentError. The SDK's own retries are off so that one
policy, this one, decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote_plus

import stripe
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from .errors import BillingError, InvalidWebhookError, PaymentDeclinedError, PermanentError, RetryableError
from .invoicing import InvoiceDraft, InvoiceLine
from .ports import StripeInvoiceRef

__all__ = ["StripeAdapter", "lines_to_add", "position_on_invoice", "translate_stripe_error", "verify_webhook"]

TENANT_KEY = "meterline_tenant_id"
NUMBER_KEY = "meterline_invoice_number"
POSITION_KEY = "meterline_line_position"
ANCHOR_KEY = "meterline_anchor"
ANCHOR_PRODUCT_ID = "meterline-billing-anchor"
ANCHOR_NAME = "Meterline billing anchor"
# localstripe accepts this test card number directly; real Stripe would not.
_LOCAL_TEST_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}
_PAGE = 100
# Stripe's limit on the lines of one add_lines call (the launched localstripe's too).
_MAX_LINES_PER_CALL = 250
# Anchor plans known to exist, per process: a plan is never deleted by us, so one
# check per process and currency is enough. A store wiped under a running process
# (tests reset localstripe) shows up as a 404 on the subscription, which forgets it.
_ANCHOR_PLANS_SEEN: set[str] = set()


# The SDK method each call names -> its HTTP method and path ("{}": the call's
# positional ids, in order), as the SDK's own services build them. Why not call
# the service: it turns every response into nested StripeObjects, which the
# adapter turned straight back into dicts; in the invoice bench that round trip
# was ~21% of the flow process's Python time, more than the HTTP client's work
# beyond the socket (bench/README.md "Billing"). `raw_request` is the SDK's own
# path for this: same requestor, headers, idempotency key, form encoding and
# error classes, so errors are translated exactly as before. Keyed on the bound
# method, callers keep naming calls as `self._v1.invoices.create` (also what the
# tests and the bench record); a method missing here is called as before.
_ROUTES: dict[tuple[str, str], tuple[str, str]] = {
    ("CustomerService", "retrieve"): ("get", "/v1/customers/{}"),
    ("CustomerService", "list"): ("get", "/v1/customers"),
    ("CustomerService", "create"): ("post", "/v1/customers"),
    ("CustomerService", "update"): ("post", "/v1/customers/{}"),
    ("PaymentMethodService", "create"): ("post", "/v1/payment_methods"),
    ("PaymentMethodService", "attach"): ("post", "/v1/payment_methods/{}/attach"),
    ("InvoiceService", "retrieve"): ("get", "/v1/invoices/{}"),
    ("InvoiceService", "list"): ("get", "/v1/invoices"),
    ("InvoiceService", "create"): ("post", "/v1/invoices"),
    ("InvoiceService", "add_lines"): ("post", "/v1/invoices/{}/add_lines"),
    ("InvoiceService", "finalize_invoice"): ("post", "/v1/invoices/{}/finalize"),
    ("InvoiceService", "pay"): ("post", "/v1/invoices/{}/pay"),
    ("InvoiceLineItemService", "list"): ("get", "/v1/invoices/{}/lines"),
    ("InvoiceItemService", "list"): ("get", "/v1/invoiceitems"),
    ("InvoiceItemService", "create"): ("post", "/v1/invoiceitems"),
    ("SubscriptionService", "list"): ("get", "/v1/subscriptions"),
    ("SubscriptionService", "create"): ("post", "/v1/subscriptions"),
    ("PlanService", "retrieve"): ("get", "/v1/plans/{}"),
    ("PlanService", "create"): ("post", "/v1/plans"),
    ("ProductService", "retrieve"): ("get", "/v1/products/{}"),
    ("ProductService", "create"): ("post", "/v1/products"),
}


def _route(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, str] | None:
    """(HTTP method, path) of the SDK method `fn` called with ids `args`, if known."""
    route = _ROUTES.get((type(getattr(fn, "__self__", None)).__name__, getattr(fn, "__name__", "")))
    if route is None or route[1].count("{}") != len(args):
        return None
    method, template = route
    return method, template.format(*(quote_plus(str(arg)) for arg in args))


class _NotFound(PermanentError):
    """A 404 from Stripe; lets the adapter fall back to creating the object."""


def translate_stripe_error(err: stripe.StripeError) -> BillingError:
    status = err.http_status
    message = f"stripe: {type(err).__name__} ({status}): {err.user_message or err}"
    if isinstance(err, (stripe.RateLimitError, stripe.APIConnectionError)) or err.code == "lock_timeout":
        return RetryableError(message)
    if isinstance(err, stripe.CardError):
        return PaymentDeclinedError(message)
    if isinstance(err, stripe.InvalidRequestError) and status == 404:
        return _NotFound(message)
    if isinstance(
        err,
        (stripe.InvalidRequestError, stripe.AuthenticationError, stripe.PermissionError, stripe.IdempotencyError),
    ):
        return PermanentError(message)
    # 409: the same idempotency key is in flight concurrently; 5xx / no status:
    # Stripe or the network failed mid-way. The keyed retry is safe for both.
    if status is None or status == 409 or status >= 500:
        return RetryableError(message)
    return PermanentError(message)


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


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _item_description(number: str, line: InvoiceLine) -> str:
    return f"{number} #{line.position}: {line.description}"


def position_on_invoice(obj: dict[str, Any], number: str) -> int | None:
    """The line position of invoice `number` that a Stripe line or invoice item carries, if any."""
    meta = _metadata(obj)
    if meta.get(NUMBER_KEY) == number and str(meta.get(POSITION_KEY, "")).isdigit():
        return int(meta[POSITION_KEY])
    # The description marker, for an object whose metadata did not survive.
    description = obj.get("description") or ""
    marker = f"{number} #"
    if description.startswith(marker):
        position = description[len(marker):].split(":", 1)[0]
        if position.isdigit():
            return int(position)
    return None


def lines_to_add(draft: InvoiceDraft, present_lines: Iterable[dict[str, Any]],
                 pending_items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """add_lines entries for the draft's lines the Stripe invoice lacks, in order.

    A line already on the invoice is skipped; one an earlier attempt left as a pending
    invoice item is assigned by the item's id (billed once); any other is created."""
    present = {position_on_invoice(line, draft.number) for line in present_lines}
    pending: dict[int, str] = {}
    for item in pending_items:
        position = position_on_invoice(item, draft.number)
        if position is not None and not item.get("invoice"):
            pending.setdefault(position, item["id"])
    entries: list[dict[str, Any]] = []
    for line in draft.lines:
        if line.position in present:
            continue
        if line.position in pending:
            entries.append({"invoice_item": pending[line.position]})
            continue
        entries.append({
            "amount": line.amount_minor,
            "description": _item_description(draft.number, line),
            "metadata": {NUMBER_KEY: draft.number, POSITION_KEY: str(line.position), TENANT_KEY: draft.tenant_id},
        })
    return entries


def _ref(invoice: dict[str, Any]) -> StripeInvoiceRef:
    return StripeInvoiceRef(
        stripe_invoice_id=invoice["id"],
        status=invoice["status"],
        total_minor=int(invoice["total"]),
    )


class StripeAdapter:
    """StripeGateway on the Stripe API (`local=True`: on localstripe).

    Build it from settings: `StripeAdapter(settings.stripe.api_key.get_secret_value(),
    settings.stripe_api_base, local=settings.stripe_is_local)`.
    """

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        local: bool = False,
        *,
        max_attempts: int = 4,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8.0,
    ) -> None:
        # httpx rather than the SDK's default requests client: one thread-safe pool of
        # kept-alive connections, and no per-call scan of the environment for proxies
        # (requests' merge_environment_settings), ~0.3-0.5 ms less client CPU a call
        # against localstripe (bench/README.md "Billing"). urllib costs less still in
        # the client but opens a connection per call: more work for the server, and a
        # TLS handshake per call against real Stripe.
        options: dict[str, Any] = {"max_network_retries": 0,
                                   "http_client": stripe.HTTPXClient(allow_sync_methods=True)}
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self._client = stripe.StripeClient(api_key, **options)
        self._v1 = self._client.v1
        self._local = local
        # localstripe anchors seen by this adapter, (customer id, currency code) -> subscription
        # id: read off the customer ensure_customer fetched anyway (localstripe embeds its
        # subscriptions), so a push need not list them. Only ever holds ids Stripe returned.
        self._anchors: dict[tuple[str, str], str] = {}
        # Customers whose embedded list showed ALL their subscriptions: an anchor not
        # among them does not exist yet, so it is created without listing first.
        self._all_subscriptions_seen: set[str] = set()
        self._retrying = Retrying(
            stop=stop_after_attempt(max_attempts),
            wait=wait_exponential(multiplier=backoff_initial_s, max=backoff_max_s),
            retry=retry_if_exception_type(RetryableError),
            reraise=True,
        )

    # -- plumbing ---------------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Any, key: str | None = None, retry: bool = True,
              **params: Any) -> dict[str, Any]:
        """One SDK call: errors translated, retryable ones retried (unless `retry=False`),
        result as a dict."""
        route = _route(fn, args)
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = params
        if key is not None:
            kwargs["options"] = {"idempotency_key": key}

        def attempt() -> dict[str, Any]:
            try:
                if route is None:
                    return fn(*args, **kwargs).to_dict()
                options = {} if key is None else {"idempotency_key": key}
                return self._client.raw_request(route[0], route[1], **params, **options).data
            except stripe.StripeError as err:
                raise translate_stripe_error(err) from err

        if not retry:
            return attempt()
        # copy(): a Retrying keeps per-run statistics; one per call is thread-safe.
        return self._retrying.copy()(attempt)

    def _list(self, fn: Callable[..., Any], *args: Any, **params: Any) -> Iterator[dict[str, Any]]:
        """All pages of a list call, following `starting_after`."""
        params = {"limit": _PAGE, **params}
        while True:
            page = self._call(fn, *args, **params)
            data = page.get("data") or []
            yield from data
            if not page.get("has_more") or not data:
                return
            params["starting_after"] = data[-1]["id"]

    # -- customers --------------------------------------------------------

    def ensure_customer(
        self, tenant_id: str, name: str, email: str, existing_customer_id: str | None, *, recover: bool = True,
    ) -> str:
        customer: dict[str, Any] | None = None
        if existing_customer_id:
            try:
                customer = self._call(self._v1.customers.retrieve, existing_customer_id)
            except _NotFound:
                customer = None
            if customer is not None and customer.get("deleted"):
                customer = None
        if customer is None and recover:
            customer = self._find_customer(tenant_id, email)
        if customer is None:
            customer = self._call(
                self._v1.customers.create,
                key=f"meterline-customer-{tenant_id}",
                name=name,
                email=email,
                metadata={TENANT_KEY: tenant_id},
            )
        if self._local:
            self._remember_anchors(customer)
            self._ensure_local_payment_method(customer)
        return customer["id"]

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

    def _find_customer(self, tenant_id: str, email: str) -> dict[str, Any] | None:
        # Listing is strongly consistent; customer search is not (and
        # localstripe lacks it). Email narrows the list; metadata decides.
        for customer in self._list(self._v1.customers.list, email=email):
            if _metadata(customer).get(TENANT_KEY) == tenant_id:
                return customer
        return None

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

    # -- invoices ---------------------------------------------------------

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
