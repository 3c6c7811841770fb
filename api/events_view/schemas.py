from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from .fate import Fate

__all__ = ["EventDeadLetterPublic", "EventViewPublic", "RecentEventsPublic"]

DUPLICATES = ("Duplicate copies of events are dropped by the stream and tallied per minute, not stored per id: "
              "an id sent twice shows once, as its first copy; this counts the copies dropped")


class EventDeadLetterPublic(BaseModel):
    meter: str = Field(description="The meter that could not count the event; empty for the whole event")
    reason: str
    at: datetime


class EventViewPublic(BaseModel):
    id: str
    type: str
    subject: str | None
    time: datetime
    received_at: datetime | None = Field(description="When the stream stored it; null when it never was "
                                                     "(dead-lettered before storing)")
    data: dict[str, Any]
    fate: Fate
    counted_by: list[str] = Field(description="Meters that counted it")
    dead_letters: list[EventDeadLetterPublic]


class RecentEventsPublic(BaseModel):
    events: list[EventViewPublic] = Field(description="Newest received first")
    duplicates_dropped: int = Field(description=DUPLICATES + ", since the minute of the oldest event of this page")
    next_cursor: str | None = Field(description="Pass as `cursor` for older events; null on the last page")
