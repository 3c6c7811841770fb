from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from metering import Aggregation, Resolution

__all__ = ["UsagePointPublic", "UsagePublic"]


class UsagePointPublic(BaseModel):
    window_start: datetime = Field(description="Start of the UTC window (minute, hour or day)")
    group: dict[str, str | None] = Field(default_factory=dict,
                                         description="The meter's group-by values of this point; {} without group_by")
    quantity: Decimal = Field(description="Decimal, serialized as a string")
    event_count: int


class UsagePublic(BaseModel):
    meter: str
    aggregation: Aggregation
    source: Literal["clickhouse", "postgres"]
    window: Resolution = "hour"
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    total_quantity: Decimal = Field(description="Over the whole range: a sum for COUNT and SUM, the maximum for MAX, "
                                                "the latest value for LATEST, distinct values for UNIQUE_COUNT")
    total_events: int
    points: list[UsagePointPublic]
