"""The Stripe client: every call goes through `StripeApi._call`, which translates errors and retries.

Errors: rate limit, lock_timeout, connection errors, 409 and 5xx become
RetryableError and are retried here with exponential backoff (tenacity, a few
attempts, the same idempotency key each time); card errors become
PaymentDeclinedError; invalid request, auth, permission and idempotency
conflicts become PermanentError. The SDK's own retries are off so that one
policy, this one, decides.

In stripe 16 responses are StripeObjects, not dicts. We never build them: each
call goes through the SDK's `raw_request` (same requestor, headers, encoding and
error classes) and the JSON body is read as plain dicts (`_ROUTES` says why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote_plus

import stripe
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from ..errors import BillingError, PaymentDeclinedError, PermanentError, RetryableError

__all__ = ["StripeApi", "translate_stripe_error"]

_PAGE = 100


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


class StripeApi:
    """The SDK client and the one policy for its calls (translation, retries)."""

    def __init__(self, api_key: str, api_base: str | None, *, max_attempts: int, backoff_initial_s: float,
                 backoff_max_s: float) -> None:
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
        self._retrying = Retrying(
            stop=stop_after_attempt(max_attempts),
            wait=wait_exponential(multiplier=backoff_initial_s, max=backoff_max_s),
            retry=retry_if_exception_type(RetryableError),
            reraise=True,
        )

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
