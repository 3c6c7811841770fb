from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from warehouse.postgres.billing_history import CorrectionHistoryRecord

__all__ = ["CorrectionHistoryPublic", "CorrectionPage"]


class CorrectionHistoryPublic(BaseModel):
    id: int
    invoice_number: str = Field(description="The issued invoice whose period the late usage belongs to")
    meter_slug: str
    window_start: datetime = Field(description="The hour of the late units (delta); the invoice's period "
                                               "start (restate)")
    quantity: Decimal = Field(description="Decimal, serialized as a string; 0 for a restatement")
    event_count: int
    kind: Literal["delta", "restate"] = Field(description="delta: late units of a COUNT or SUM meter; restate: "
                                                          "late events of a MAX, MIN, AVG or LATEST meter, billed "
                                                          "as the period's value now minus what was billed")
    state: Literal["pending", "applied"]
    applied_invoice_number: str | None = Field(description="The invoice that billed it (null while pending)")
    amount_minor: int | None = Field(description="A restatement's billed amount once applied (integer minor "
                                                 "units); deltas are billed on the applied invoice's correction "
                                                 "line of their meter")
    created_at: datetime
    updated_at: datetime = Field(description="Last change: when it was applied, once applied")

    @classmethod
    def of(cls, r: CorrectionHistoryRecord) -> CorrectionHistoryPublic:
        return cls(id=r.id, invoice_number=r.invoice_number, meter_slug=r.meter_slug, window_start=r.window_start,
                   quantity=r.quantity, event_count=r.event_count, kind=r.kind,
                   state="pending" if r.applied_invoice_number is None else "applied",
                   applied_invoice_number=r.applied_invoice_number, amount_minor=r.amount_minor,
                   created_at=r.created_at, updated_at=r.updated_at)


class CorrectionPage(BaseModel):
    corrections: list[CorrectionHistoryPublic] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")
