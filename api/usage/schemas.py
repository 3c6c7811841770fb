from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["UsagePointPublic", "UsagePublic"]


class UsagePointPublic(BaseModel):
    window_start: datetime = Field(description="Start of the UTC hour")
    quantity: Decimal = Field(description="Decimal, serialized as a string")
    event_count: int


class UsagePublic(BaseModel):
    meter: str
    aggregation: Literal["COUNT", "SUM"]
    source: Literal["clickhouse", "postgres"]
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    total_quantity: Decimal = Field(description="Decimal, serialized as a string")
    total_events: int
    points: list[UsagePointPublic]
