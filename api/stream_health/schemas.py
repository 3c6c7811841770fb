from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["DeadLetterPublic", "DuplicateCountPublic", "DuplicateConflictPublic", "CorrectionPublic"]


class DeadLetterPublic(BaseModel):
    id: int
    event_id: str
    meter_slug: str
    reason: str
    event: dict
    created_at: datetime


class DuplicateCountPublic(BaseModel):
    minute: datetime = Field(description="When the stream dropped them, by minute (UTC)")
    duplicates: int


class DuplicateConflictPublic(BaseModel):
    event_id: str
    first_digest: str = Field(description="Digest of the copy that was counted (16 hex digits)")
    duplicate_digest: str = Field(description="Digest of the later copy with the same id, not counted")
    seen_at: datetime = Field(description="When the stream dropped the later copy (UTC)")


class CorrectionPublic(BaseModel):
    invoice_number: str = Field(description="The already-issued invoice whose period this usage belongs to")
    meter_slug: str
    window_start: datetime
    quantity: Decimal = Field(description="Decimal, serialized as a string; 0 for a restatement")
    event_count: int
    kind: Literal["delta", "restate"] = Field(
        "delta", description="delta: late units of a COUNT or SUM meter in the hour `window_start`; restate: late "
                             "events of a MAX or LATEST meter, billed as the period's value now minus what was "
                             "billed (`window_start` is the invoice's period start)")
