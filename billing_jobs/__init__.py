"""Billing: money, plans, rating, invoices, and the ports to Stripe and storage.

The Stripe adapter (the package `billing_jobs.stripe`) is not re-exported: importing the
domain must not import the Stripe SDK.
"""

from .dunning import DunningAction, DunningInvoice, DunningSchedule, plan_dunning
from .errors import BillingError, InvalidWebhookError, PaymentDeclinedError, PermanentError, RetryableError
from .invoice_service import issue_invoice
from .invoicing import (
    InvoiceDraft,
    InvoiceLine,
    billing_period,
    compose_invoice,
    compose_segmented_invoice,
    invoice_number,
)
from .limits import LimitAlert, blocked_meters, due_alerts
from .money import Money, UnknownCurrencyError, currency_exponent, round_to_minor_units
from .plans import (
    GraduatedCharge,
    PackageCharge,
    Plan,
    Tier,
    UnitCharge,
    UsageCharge,
    UsageLimit,
    VolumeCharge,
)
from .ports import InvoiceStatus, InvoiceStore, StoredInvoice, StripeGateway, StripeInvoiceRef
from .rating import RatedLine, rate_charge
from .segments import SubscriptionSegment, SubscriptionSpan, plan_segments, with_usage
from .usage_totals import UnbillableMeterError, UsageHour, meter_totals, unbillable_meters

__all__ = [
    "BillingError",
    "DunningAction",
    "DunningInvoice",
    "DunningSchedule",
    "InvalidWebhookError",
    "LimitAlert",
    "SubscriptionSegment",
    "SubscriptionSpan",
    "blocked_meters",
    "compose_segmented_invoice",
    "due_alerts",
    "plan_dunning",
    "plan_segments",
    "with_usage",
    "UnbillableMeterError",
    "UsageHour",
    "meter_totals",
    "unbillable_meters",
    "GraduatedCharge",
    "InvoiceDraft",
    "InvoiceLine",
    "InvoiceStatus",
    "InvoiceStore",
    "Money",
    "PackageCharge",
    "PaymentDeclinedError",
    "PermanentError",
    "Plan",
    "RatedLine",
    "RetryableError",
    "StoredInvoice",
    "StripeGateway",
    "StripeInvoiceRef",
    "Tier",
    "UnitCharge",
    "UnknownCurrencyError",
    "UsageCharge",
    "UsageLimit",
    "VolumeCharge",
    "billing_period",
    "compose_invoice",
    "currency_exponent",
    "invoice_number",
    "issue_invoice",
    "rate_charge",
    "round_to_minor_units",
]
