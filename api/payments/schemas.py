from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from warehouse.postgres.billing_history import PaymentRecord

__all__ = ["PaymentPublic", "PaymentPage"]


class PaymentPublic(BaseModel):
    id: uuid.UUID
    invoice_number: str = Field(description="The invoice this payment paid (or tried to)")
    stripe_payment_id: str | None
    amount_minor: int = Field(description="Integer minor units of `currency` (cents for USD)")
    currency: str
    status: str = Field(description="As Stripe reported it: succeeded, failed, ...")
    created_at: datetime = Field(description="When the payment was recorded")

    @classmethod
    def of(cls, record: PaymentRecord) -> PaymentPublic:
        return cls(id=record.id, invoice_number=record.invoice_number, stripe_payment_id=record.stripe_payment_id,
                   amount_minor=record.amount_minor, currency=record.currency, status=record.status,
                   created_at=record.created_at)


class PaymentPage(BaseModel):
    payments: list[PaymentPublic] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")
