"""Moved to the package `billing_jobs.stripe`; kept for `api/webhooks/router.py` until it imports from there."""

from .stripe import StripeAdapter, lines_to_add, position_on_invoice, translate_stripe_error, verify_webhook

__all__ = ["StripeAdapter", "lines_to_add", "position_on_invoice", "translate_stripe_error", "verify_webhook"]
