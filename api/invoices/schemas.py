from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from billing_jobs.ports import StoredInvoice

__all__ = ["InvoiceLinePublic", "InvoicePublic"]


class InvoiceLinePublic(BaseModel):
    position: int
    kind: str
    meter_slug: str | None
    description: str
    quantity: Decimal | None = Field(description="Decimal, serialized as a string")
    unit_price: Decimal | None = Field(description="Decimal in major units, serialized as a string")
    tier: str | None
    amount_minor: int = Field(description="Integer minor units of `currency` (cents for USD)")


class InvoicePublic(BaseModel):
    number: str
    status: str
    plan_slug: str
    currency: str
    period_start: date
    period_end: date = Field(description="Exclusive")
    subtotal_minor: int
    total_minor: int
    stripe_invoice_id: str | None
    lines: list[InvoiceLinePublic]

    @classmethod
    def of(cls, stored: StoredInvoice) -> InvoicePublic:
        draft = stored.draft
        return cls(
            number=draft.number, status=stored.status, plan_slug=draft.plan_slug, currency=draft.currency,
            period_start=draft.period_start, period_end=draft.period_end, subtotal_minor=draft.subtotal_minor,
            total_minor=draft.total_minor, stripe_invoice_id=stored.stripe_invoice_id,
            lines=[InvoiceLinePublic(**line.model_dump()) for line in draft.lines],
        )
