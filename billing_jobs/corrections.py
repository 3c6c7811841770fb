"""Late usage for an invoiced period, billed as lines of its own on the next invoice. Pure.

The stream adds usage that arrives for an already-issued invoice's hours to
`usage_hourly` AND records it as a pending correction (stream/README.md, "Late
events and invoiced periods"). An issued invoice never changes, so the next
invoice carries one line per (original invoice, plan segment, meter): what the
segment's usage costs now minus what it cost without the pending corrections,
under the plan in force then. Rating the difference of totals, not the late
units alone, keeps tiers, included usage and minimums right: 100 late units
that cross into a cheaper graduated tier are billed at the tiers they fall in,
and units still inside the included usage cost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from .invoicing import segment_charge_minor
from .money import format_decimal
from .segments import SubscriptionSegment, with_usage

__all__ = ["CorrectedPeriod", "PendingCorrection", "correction_lines"]


@dataclass(frozen=True, slots=True)
class PendingCorrection:
    id: int
    invoice_number: str  # the issued invoice whose period the usage belongs to
    meter_slug: str
    window_start: datetime
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class CorrectedPeriod:
    """An issued invoice's period, its plan segments with the usage as it stands now."""

    period_start: date
    period_end: date
    segments: Sequence[SubscriptionSegment]


def correction_lines(corrections: Sequence[PendingCorrection], periods: Mapping[str, CorrectedPeriod],
                     currency: str) -> list[tuple[str, dict]]:
    """(kind, fields) lines for `compose_segmented_invoice(extra_lines=...)`, in a fixed order:
    by original invoice number, segment, meter. Meters the plan then did not charge get no line."""
    lines: list[tuple[str, dict]] = []
    for number in sorted({c.invoice_number for c in corrections}):
        period = periods.get(number)
        if period is None or not period.segments:
            raise ValueError(f"corrections for {number} but no plan was in force in its period")
        segments = list(period.segments)
        mine = [c for c in corrections if c.invoice_number == number]
        # The same window-to-segment rule as the original invoice (segments.with_usage).
        late = with_usage([SubscriptionSegment(s.plan, s.start, s.end) for s in segments],
                          [(c.meter_slug, c.window_start, c.quantity) for c in mine])
        for segment, late_segment in zip(segments, late):
            if segment.plan.currency != currency:
                raise ValueError(f"corrections for {number} are in {segment.plan.currency}, "
                                 f"the invoice is in {currency}")
            charged = {charge.meter_slug for charge in segment.plan.charges}
            for meter_slug in sorted(set(late_segment.usage) & charged):
                extra = late_segment.usage[meter_slug]
                now = segment.usage.get(meter_slug, Decimal(0))
                bounds = (period.period_start, period.period_end)
                amount = (segment_charge_minor(segment, meter_slug, now, *bounds)
                          - segment_charge_minor(segment, meter_slug, max(now - extra, Decimal(0)), *bounds))
                lines.append(("correction", dict(
                    meter_slug=meter_slug,
                    quantity=extra,
                    description=(f"Late usage for invoice {number}: {meter_slug}: {format_decimal(extra)} units, "
                                 f"rated under {segment.plan.name} "
                                 f"[{segment.start:%Y-%m-%d %H:%M} to {segment.end:%Y-%m-%d %H:%M} UTC]"),
                    amount_minor=amount,
                )))
    return lines
