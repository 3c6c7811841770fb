from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from metering import Aggregation
from metering.zone_windows import ZoneWindow

__all__ = ["UsageRowPublic", "MeterTotalPublic", "UsageQueryPublic"]

WATERMARK = ("Every event accepted before this time is included in the answer (events accepted later may "
             "still arrive in earlier windows); null when it could not be determined")


class UsageRowPublic(BaseModel):
    meter: str
    window_start: datetime = Field(description="Start of the window, in the requested time zone (with its offset)")
    window_end: datetime = Field(description="Exclusive; a day across a DST change lasts 23 or 25 hours")
    group: dict[str, str | None] = Field(description="The requested group-by properties of this row")
    subject: str | None = Field(description="The events' subject when grouped by subject, else null")
    quantity: Decimal = Field(description="Decimal, serialized as a string")
    event_count: int


class MeterTotalPublic(BaseModel):
    meter: str
    aggregation: Aggregation
    quantity: Decimal = Field(description="Over the whole range and every group")
    event_count: int
    read_from: str = Field(description="Which data answered: `rollup:<resolution>`, `raw:<resolution>`, or "
                           "`rollup:hour+raw:minute` (whole hours from rollups, hours cut by a half-hour zone's "
                           "window edges from raw events)")


class UsageQueryPublic(BaseModel):
    time_zone: str
    window: ZoneWindow
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    group_by: list[str]
    by_subject: bool
    watermark: datetime | None = Field(description=WATERMARK)
    totals: list[MeterTotalPublic] = Field(description="Per meter, over the whole range (not only this page)")
    rows: list[UsageRowPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
