"""An invoice line's usage: its windows, then its raw events."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, Field

from billing_jobs.line_usage import LineUsageSource
from warehouse.clickhouse.fine_usage import MeteredEventRow
from warehouse.postgres.billing_usage import MeterWindow

from .line_usage import LineWindows
from .schemas import InvoiceLinePublic

__all__ = ["LineWindowPublic", "LineWindowsPublic", "LineEventPublic", "LineEventsPublic"]

_HOUR = timedelta(hours=1)


class _LineSource(BaseModel):
    invoice_number: str
    line: InvoiceLinePublic
    meter_slug: str
    segment_start: datetime = Field(description="The part of the period under the line's plan")
    segment_end: datetime
    events_from: datetime = Field(description="The line's events are those of the meter with times in "
                                              "[events_from, events_to): whole hours of its windows")
    events_to: datetime

    @staticmethod
    def fields_of(number: str, source: LineUsageSource) -> dict[str, Any]:
        return dict(invoice_number=number, line=InvoiceLinePublic(**source.line.model_dump()),
                    meter_slug=source.meter_slug, segment_start=source.segment.start, segment_end=source.segment.end,
                    events_from=source.events_from, events_to=source.events_to)


class LineWindowPublic(BaseModel):
    window_start: datetime
    window_end: datetime
    group: dict[str, Any] = Field(description="The meter's group-by values of this window")
    quantity: Decimal = Field(description="Decimal, serialized as a string; the window's value by the meter's "
                                          "aggregation (an AVG window: the sum of its values)")
    event_count: int

    @classmethod
    def of(cls, window: MeterWindow) -> LineWindowPublic:
        group = orjson.loads(window.group_key) if window.group_key else {}
        return cls(window_start=window.window_start, window_end=window.window_start + _HOUR,
                   group=group if isinstance(group, dict) else {}, quantity=window.usage.quantity,
                   event_count=window.usage.event_count)


class LineWindowsPublic(_LineSource):
    total_quantity: Decimal | None = Field(description="Every window of the line combined by the meter's "
                                                       "aggregation, as billing combines them: the line's "
                                                       "quantity, unless included usage or tiers split it, or "
                                                       "late usage arrived after the invoice (billed later as a "
                                                       "correction)")
    total_events: int
    windows: list[LineWindowPublic] = Field(description="This page, in time and group order")
    next_cursor: str | None

    @classmethod
    def of(cls, found: LineWindows) -> LineWindowsPublic:
        return cls(**cls.fields_of(found.invoice_number, found.source), total_quantity=found.total_quantity,
                   total_events=found.total_events, windows=[LineWindowPublic.of(w) for w in found.windows],
                   next_cursor=found.next_cursor)


class LineEventPublic(BaseModel):
    id: str
    time: datetime
    subject: str
    value: str | None = Field(description="What the meter reads from the event (null for COUNT): a decimal as "
                                          "a string, or a property's text for UNIQUE_COUNT")
    data: dict[str, Any]

    @classmethod
    def of(cls, row: MeteredEventRow) -> LineEventPublic:
        return cls(id=row.id, time=row.time, subject=row.subject, value=row.value, data=row.data)


class LineEventsPublic(_LineSource):
    events: list[LineEventPublic] = Field(description="This page, oldest first")
    next_cursor: str | None
