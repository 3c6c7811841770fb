from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from billing_jobs.invoicing import InvoiceDraft
from billing_jobs.ports import StoredInvoice

__all__ = ["InvoiceLinePublic", "InvoicePublic", "InvoicePreviewPublic"]


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


class InvoicePreviewPublic(BaseModel):
    """The open period's invoice as it stands, rated as the final invoice will be."""

    number: str = Field(description="The number the period's invoice will have")
    plan_slug: str
    currency: str
    period_start: date
    period_end: date = Field(description="Exclusive")
    subtotal_minor: int
    total_minor: int
    lines: list[InvoiceLinePublic]
    as_of: datetime = Field(description="When it was rated")
    final_up_to: datetime | None = Field(description="The freshness watermark: every accepted event up to this "
                                                     "time is in these lines (null when not known yet)")

    @classmethod
    def of(cls, draft: InvoiceDraft, as_of: datetime, final_up_to: datetime | None) -> InvoicePreviewPublic:
        return cls(number=draft.number, plan_slug=draft.plan_slug, currency=draft.currency,
                   period_start=draft.period_start, period_end=draft.period_end,
                   subtotal_minor=draft.subtotal_minor, total_minor=draft.total_minor,
                   lines=[InvoiceLinePublic(**line.model_dump()) for line in draft.lines],
                   as_of=as_of, final_up_to=final_up_to)
