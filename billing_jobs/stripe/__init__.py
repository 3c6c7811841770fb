"""The Stripe adapter (ports.StripeGateway): the only package that imports the `stripe` SDK.

    client.py       the SDK client, error translation, retries
    customers.py    a Stripe customer per tenant
    invoices.py     push a draft invoice, collect it
    lines.py        our marks on Stripe lines; which lines an invoice lacks
    localstripe.py  what only localstripe needs: overrides of the real-Stripe hooks
    adapter.py      StripeAdapter (real Stripe) and LocalStripeAdapter
    webhooks.py     webhook signatures
"""

from .adapter import LocalStripeAdapter, StripeAdapter
from .client import translate_stripe_error
from .lines import NUMBER_KEY, POSITION_KEY, TENANT_KEY, lines_to_add, position_on_invoice
from .webhooks import verify_webhook

__all__ = ["NUMBER_KEY", "POSITION_KEY", "TENANT_KEY", "LocalStripeAdapter", "StripeAdapter", "lines_to_add",
           "position_on_invoice", "translate_stripe_error", "verify_webhook"]
