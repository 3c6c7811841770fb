"""Stripe adapter: implements ports.StripeGateway; the package is the only code that imports `stripe`.

Idempotency does not rest on the server alone. Every write carries an
`Idempotency-Key` derived from our ids (real Stripe dedups on it for 24 h),
AND before creating anything we look for what an earlier, crashed attempt
may already have created (customers.py, lines.py, invoices.py say how).
localstripe's differences: localstripe.py.
"""

from __future__ import annotations

from typing import Any

from .client import StripeApi
from .customers import CustomerCalls
from .invoices import InvoiceCalls
from .localstripe import LocalStripeWorkarounds

__all__ = ["LocalStripeAdapter", "StripeAdapter"]


class StripeAdapter(CustomerCalls, InvoiceCalls, StripeApi):
    """StripeGateway on the Stripe API; `local=True` builds a LocalStripeAdapter.

    Build it from settings: `StripeAdapter(settings.stripe.api_key.get_secret_value(),
    settings.stripe_api_base, local=settings.stripe_is_local)`.
    """

    def __new__(cls, api_key: str, api_base: str | None = None, local: bool = False, **options: Any):
        # One constructor for both, as callers (settings, tests) say "local" with a flag.
        return super().__new__(LocalStripeAdapter if local and not issubclass(cls, LocalStripeAdapter) else cls)

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
        StripeApi.__init__(self, api_key, api_base, max_attempts=max_attempts, backoff_initial_s=backoff_initial_s,
                           backoff_max_s=backoff_max_s)


class LocalStripeAdapter(LocalStripeWorkarounds, StripeAdapter):
    """StripeGateway on the localstripe that `infra/` launches: localstripe.py's overrides
    of the real-Stripe hooks, and their state."""

    def __init__(self, api_key: str, api_base: str | None = None, local: bool = True, **options: Any) -> None:
        super().__init__(api_key, api_base, True, **options)
        # localstripe anchors seen by this adapter, (customer id, currency code) -> subscription
        # id: read off the customer ensure_customer fetched anyway (localstripe embeds its
        # subscriptions), so a push need not list them. Only ever holds ids Stripe returned.
        self._anchors: dict[tuple[str, str], str] = {}
        # Customers whose embedded list showed ALL their subscriptions: an anchor not
        # among them does not exist yet, so it is created without listing first.
        self._all_subscriptions_seen: set[str] = set()
