"""Which usage an invoice line was rated from: its meter, and the event times whose hourly
windows made the quantity. Pure.

An invoice lists its segments in time order, each opening with exactly one flat-fee line
(invoicing.compose_segmented_invoice, even a zero fee), followed by that segment's usage
and minimum lines; corrections come last. So a line's segment is the one opened by the
last flat-fee line before it, and its usage is the meter's windows that
segments.segment_of_window gives that segment: the same rule that rated it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .invoicing import InvoiceDraft, InvoiceLine
from .segments import SubscriptionSegment, segment_event_range

__all__ = ["LineUsageSource", "NotAUsageLine", "SegmentsChanged", "line_usage_source"]


class NotAUsageLine(ValueError):
    """The line bills no usage of its own (a flat fee, a minimum, a correction)."""


class SegmentsChanged(ValueError):
    """The subscriptions in force in the invoice's period no longer give its segments."""


@dataclass(frozen=True, slots=True)
class LineUsageSource:
    line: InvoiceLine
    meter_slug: str
    segment: SubscriptionSegment
    events_from: datetime  # event times [events_from, events_to) are the line's windows
    events_to: datetime


def line_usage_source(draft: InvoiceDraft, line: InvoiceLine,
                      segments: Sequence[SubscriptionSegment]) -> LineUsageSource:
    """`segments`: plan_segments of the subscriptions in force in the invoice's period."""
    if line.kind != "usage" or line.meter_slug is None:
        raise NotAUsageLine(f"line {line.position} is a {line.kind} line: it was not rated from usage")
    fees = [candidate for candidate in draft.lines if candidate.kind == "flat_fee"]
    if len(fees) != len(segments):
        raise SegmentsChanged(f"invoice {draft.number} has {len(fees)} plan segments, its period now "
                              f"{len(segments)}")
    index = sum(1 for fee in fees if fee.position < line.position) - 1
    start, end = segment_event_range(segments, index)
    return LineUsageSource(line, line.meter_slug, segments[index], start, end)
