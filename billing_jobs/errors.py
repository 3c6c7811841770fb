"""Errors adapters raise, so callers triage without knowing any SDK.

    BillingError
    ├── RetryableError        transient: rate limit, network, 5xx, lock timeout;
    │                         the same call with the same idempotency key may succeed
    └── PermanentError        retrying the same request cannot help: invalid
        │                     request, auth, idempotency conflict, data mismatch
        ├── PaymentDeclinedError   the card was declined; dunning's business
        └── InvalidWebhookError    a webhook failing its signature check
"""

from __future__ import annotations

__all__ = ["BillingError", "InvalidWebhookError", "PaymentDeclinedError", "PermanentError", "RetryableError"]


class BillingError(Exception):
    """Base of every error raised across a billing port."""


class RetryableError(BillingError):
    pass


class PermanentError(BillingError):
    pass


class PaymentDeclinedError(PermanentError):
    pass


class InvalidWebhookError(PermanentError):
    """A webhook whose signature is missing, wrong or stale, or whose body is not an event."""
