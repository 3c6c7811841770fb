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

MAX, MIN, AVG and LATEST meters have no late units to add: a late event may change the
period's value or leave it. The stream records it as a *restatement* of the meter
for that invoice (one pending per invoice and meter, however many late events), and
the next invoice bills what the period's usage of the meter costs now minus what
was billed for it so far: the original invoice's usage and minimum lines plus
earlier restatements (`CorrectedPeriod.billed`). Computed at billing time against
what was billed, a replayed or repeated late event cannot bill twice.

One rule for a correction of either kind whose amount is 0 (late units inside the
included usage, a late event that does not change the period's value): no line on the
invoice, and the correction is still marked applied (a restatement with amount 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, Protocol

from metering import DELTA, RESTATE, aggregation_for

from .invoicing import segment_charge_minor
from .money import format_decimal
from .segments import SubscriptionSegment, with_usage

__all__ = ["ADDITIVE_CORRECTION", "RESTATEMENT", "AppliedCorrection", "CorrectedPeriod", "LateUsage",
           "PendingCorrection", "applied_corrections", "correction_lines", "late_usage_corrections",
           "restatement_lines"]

# What a late event means is the meter's aggregation's (metering.aggregations.late_correction):
ADDITIVE_CORRECTION = DELTA  # COUNT, SUM: the late units, added
RESTATEMENT = RESTATE  # MAX, MIN, AVG, LATEST: the meter's value over the period, billed again against what was billed


@dataclass(frozen=True, slots=True)
class PendingCorrection:
    id: int
    invoice_number: str  # the issued invoice whose period the usage belongs to
    meter_slug: str
    window_start: datetime  # a restatement: the invoice's period start
    quantity: Decimal  # a restatement: 0 (it adds nothing)
    kind: str = ADDITIVE_CORRECTION
    event_count: int = 0  # late events folded in; with quantity, what the store checks is unchanged


@dataclass(frozen=True, slots=True)
class CorrectedPeriod:
    """An issued invoice's period, its plan segments with the usage as it stands now, and
    {meter slug: minor units billed for it so far} (original lines plus restatements)."""

    period_start: date
    period_end: date
    segments: Sequence[SubscriptionSegment]
    billed: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AppliedCorrection:
    """A pending correction as billed: marked applied only if still at (quantity, event_count);
    `amount_minor` is recorded for restatements (what the next one subtracts)."""

    id: int
    quantity: Decimal
    event_count: int
    amount_minor: int | None = None


class LateUsage(NamedTuple):
    """A batch's new usage of one meter, hour and group. A NamedTuple: the stream builds one
    per hour window of a batch, and a frozen dataclass's __init__ costs several times more."""

    meter_slug: str
    window_start: datetime
    aggregation: str
    quantity: Decimal
    event_count: int


class _Period(Protocol):
    number: str
    start: datetime
    end: datetime


def late_usage_corrections(usage: Iterable[LateUsage], issued: Sequence[_Period]
                           ) -> list[tuple[str, str, datetime, Decimal, int, str]]:
    """(invoice number, meter, window, quantity, event count, kind) to record for new usage in
    the hours of issued invoices, as the meter's aggregation says: a delta adds its units per
    hour (COUNT, SUM); a restatement restates the meter for the invoice, one row keyed by
    its period start (the stream's pending rows collapse on that key). An aggregation
    with neither (UNIQUE_COUNT) is not billable (usage_totals) and records nothing."""
    rows: dict[tuple[str, str, datetime, str], list] = {}
    for late in usage:
        kind = aggregation_for(late.aggregation).late_correction
        if kind is None:
            continue
        additive = kind == ADDITIVE_CORRECTION
        for period in issued:
            if not period.start <= late.window_start < period.end:
                continue
            if additive:
                total = rows.setdefault((period.number, late.meter_slug, late.window_start, ADDITIVE_CORRECTION),
                                        [Decimal(0), 0])
                total[0] += late.quantity
            else:
                total = rows.setdefault((period.number, late.meter_slug, period.start, RESTATEMENT), [Decimal(0), 0])
            total[1] += late.event_count
    return [(number, slug, window, q, n, kind) for (number, slug, window, kind), (q, n) in rows.items()]


def _period_of(number: str, periods: Mapping[str, CorrectedPeriod], currency: str) -> CorrectedPeriod:
    """The period both kinds of correction bill against, refused when no plan was in force
    or it billed in another currency than the invoice that would carry the line."""
    period = periods.get(number)
    if period is None or not period.segments:
        raise ValueError(f"corrections for {number} but no plan was in force in its period")
    for segment in period.segments:
        if segment.plan.currency != currency:
            raise ValueError(f"corrections for {number} are in {segment.plan.currency}, "
                             f"the invoice is in {currency}")
    return period


def _worth_a_line(amount_minor: int) -> bool:
    """The one rule for zero-amount corrections of either kind: no line (the correction is
    still marked applied, see `applied_corrections`)."""
    return amount_minor != 0


def correction_lines(corrections: Sequence[PendingCorrection], periods: Mapping[str, CorrectedPeriod],
                     currency: str) -> list[tuple[str, dict]]:
    """(kind, fields) lines for `compose_segmented_invoice(extra_lines=...)`, in a fixed order:
    by original invoice number, segment, meter. Meters the plan then did not charge get no line,
    nor does a correction that costs nothing (late units inside the included usage or under a
    minimum): the same rule as restatements. Additive corrections only; restatements are
    `restatement_lines`."""
    corrections = [c for c in corrections if c.kind == ADDITIVE_CORRECTION]
    lines: list[tuple[str, dict]] = []
    for number in sorted({c.invoice_number for c in corrections}):
        period = _period_of(number, periods, currency)
        segments = list(period.segments)
        mine = [c for c in corrections if c.invoice_number == number]
        # The same window-to-segment rule as the original invoice (segments.with_usage).
        late = with_usage([SubscriptionSegment(s.plan, s.start, s.end) for s in segments],
                          [(c.meter_slug, c.window_start, c.quantity) for c in mine])
        for segment, late_segment in zip(segments, late):
            charged = {charge.meter_slug for charge in segment.plan.charges}
            for meter_slug in sorted(set(late_segment.usage) & charged):
                extra = late_segment.usage[meter_slug]
                now = segment.usage.get(meter_slug, Decimal(0))
                bounds = (period.period_start, period.period_end)
                amount = (segment_charge_minor(segment, meter_slug, now, *bounds)
                          - segment_charge_minor(segment, meter_slug, max(now - extra, Decimal(0)), *bounds))
                if not _worth_a_line(amount):
                    continue
                lines.append(("correction", dict(
                    meter_slug=meter_slug,
                    quantity=extra,
                    description=(f"Late usage for invoice {number}: {meter_slug}: {format_decimal(extra)} units, "
                                 f"rated under {segment.plan.name} "
                                 f"[{segment.start:%Y-%m-%d %H:%M} to {segment.end:%Y-%m-%d %H:%M} UTC]"),
                    amount_minor=amount,
                )))
    return lines


def restatement_lines(corrections: Sequence[PendingCorrection], periods: Mapping[str, CorrectedPeriod],
                      currency: str) -> tuple[list[tuple[str, dict]], dict[int, int]]:
    """Lines for the pending restatements among `corrections`, by invoice number then meter,
    and {correction id: amount it bills}. Each (invoice, meter) bills the period's usage as it
    costs now (every segment, usage_totals' rules) minus what was billed for it so far; several
    pending rows of one pair bill once, on the first. An amount of 0 gets no line
    (`_worth_a_line`); a negative one (a LATEST value restated lower) is a credit line."""
    restatements = [c for c in corrections if c.kind == RESTATEMENT]
    lines: list[tuple[str, dict]] = []
    amounts: dict[int, int] = {}
    by_pair: dict[tuple[str, str], list[PendingCorrection]] = {}
    for c in restatements:
        by_pair.setdefault((c.invoice_number, c.meter_slug), []).append(c)
    for (number, meter_slug), pending in sorted(by_pair.items()):
        period = _period_of(number, periods, currency)
        bounds = (period.period_start, period.period_end)
        charging = [s for s in period.segments if any(ch.meter_slug == meter_slug for ch in s.plan.charges)]
        now = sum((segment_charge_minor(s, meter_slug, s.usage.get(meter_slug, Decimal(0)), *bounds)
                   for s in charging), 0)
        amount = now - period.billed.get(meter_slug, 0)
        first, *rest = sorted(pending, key=lambda c: c.id)
        amounts[first.id] = amount
        amounts.update((c.id, 0) for c in rest)
        if not _worth_a_line(amount):
            continue
        values = ", ".join(format_decimal(s.usage.get(meter_slug, Decimal(0))) for s in charging)
        lines.append(("correction", dict(
            meter_slug=meter_slug,
            description=(f"Restated usage for invoice {number}: {meter_slug} is now {values}, rated under "
                         f"{', '.join(s.plan.name for s in charging)}; the difference to what was billed"),
            amount_minor=amount,
        )))
    return lines, amounts


def applied_corrections(corrections: Sequence[PendingCorrection], restated: Mapping[int, int]
                        ) -> list[AppliedCorrection]:
    """What the store marks applied with the invoice that billed `corrections`."""
    return [AppliedCorrection(c.id, c.quantity, c.event_count, restated.get(c.id) if c.kind == RESTATEMENT else None)
            for c in corrections]
