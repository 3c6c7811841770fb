"""Compose an invoice draft from a plan and a period's usage. Pure.

Line order is fixed so a re-run yields the same invoice: the plan's flat fee,
then each charge in plan order (one line per rated line, e.g. per tier
reached), each followed by its minimum top-up if one is due. Every line is
rounded once (money.ROUNDING) to integer minor units; totals are sums of
those integers, so the invoice always adds up exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from .money import currency_exponent, format_decimal, round_to_minor_units, to_decimal
from .plans import NonNegativeDecimal, Plan, UsageCharge
from .rating import RatedLine, rate_charge
from .segments import SubscriptionSegment, period_bounds

__all__ = [
    "InvoiceDraft",
    "InvoiceLine",
    "LineKind",
    "billing_period",
    "compose_invoice",
    "compose_segmented_invoice",
    "invoice_number",
    "prorate",
    "segment_charge_minor",
]

# correction: late usage of an earlier, already issued invoice (billing_jobs.corrections).
LineKind = Literal["flat_fee", "usage", "minimum", "correction"]


class InvoiceLine(BaseModel):
    """Mirrors the tenant table `invoice_line`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    position: int
    kind: LineKind
    meter_slug: str | None = None
    description: str
    quantity: NonNegativeDecimal | None = None
    unit_price: NonNegativeDecimal | None = None
    tier: str | None = None
    amount_minor: int


class InvoiceDraft(BaseModel):
    """An invoice before it is stored; mirrors the tenant table `invoice`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str
    tenant_id: str
    tenant_slug: str
    plan_slug: str
    currency: str
    period_start: date
    period_end: date
    lines: tuple[InvoiceLine, ...]
    subtotal_minor: int
    total_minor: int

    @model_validator(mode="after")
    def _adds_up(self) -> InvoiceDraft:
        # Checked on every load too, so a hand-edited row cannot drift.
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        if [line.position for line in self.lines] != list(range(1, len(self.lines) + 1)):
            raise ValueError("line positions must be 1..n in order")
        if self.subtotal_minor != sum(line.amount_minor for line in self.lines):
            raise ValueError("subtotal_minor must equal the sum of the lines")
        if self.total_minor != self.subtotal_minor:
            raise ValueError("total_minor must equal subtotal_minor (no taxes yet)")
        return self


def invoice_number(tenant_slug: str, period_start: date) -> str:
    # Deterministic: the same tenant and month always give the same number,
    # which is what makes issuing idempotent (here, in the store and in Stripe).
    return f"ML-{tenant_slug.upper()}-{period_start:%Y%m}"


def billing_period(for_date: date) -> tuple[date, date]:
    """The calendar month containing `for_date`: (first day, first day of next month).

    A datetime must be timezone-aware and is converted to UTC first, so a late
    evening in New York on the 31st is billed in the month it is in UTC.
    """
    if isinstance(for_date, datetime):
        if for_date.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime or a UTC date")
        for_date = for_date.astimezone(timezone.utc).date()
    start = for_date.replace(day=1)
    end = date(start.year + 1, 1, 1) if start.month == 12 else date(start.year, start.month + 1, 1)
    return start, end


def _usage_description(line: RatedLine, currency: str) -> str:
    parts = [f"{line.meter_slug}: {format_decimal(line.quantity)} units"]
    if line.tier is not None:
        parts.append(line.tier)
    if line.detail is not None:
        parts.append(line.detail)
    else:
        parts.append(f"at {format_decimal(line.unit_price)} {currency} per unit")
    if line.flat_fee:
        parts.append(f"plus {format_decimal(line.flat_fee)} {currency} tier fee")
    return ", ".join(parts)


def _charge_lines(charge: UsageCharge, quantity: Decimal, currency: str) -> list[tuple[LineKind, dict]]:
    lines: list[tuple[LineKind, dict]] = []
    for rated in rate_charge(charge, quantity):
        lines.append(
            (
                "usage",
                dict(
                    meter_slug=rated.meter_slug,
                    description=_usage_description(rated, currency),
                    quantity=rated.quantity,
                    unit_price=rated.unit_price,
                    tier=rated.tier,
                    amount_minor=round_to_minor_units(rated.amount, currency),
                ),
            )
        )
    if charge.minimum is not None:
        # Compare and top up in rounded minor units, so the meter's lines add up
        # to exactly the (rounded) minimum; topping up the unrounded difference
        # could land one minor unit off after its own rounding.
        minimum_minor = round_to_minor_units(charge.minimum, currency)
        rated_minor = sum(fields["amount_minor"] for _, fields in lines)
        if minimum_minor > rated_minor:
            lines.append(
                (
                    "minimum",
                    dict(
                        meter_slug=charge.meter_slug,
                        description=(
                            f"{charge.meter_slug}: minimum charge of "
                            f"{format_decimal(charge.minimum)} {currency} per period"
                        ),
                        amount_minor=minimum_minor - rated_minor,
                    ),
                )
            )
    return lines


class _Period(BaseModel):
    period_start: date
    period_end: date

    @model_validator(mode="after")
    def _ordered(self) -> _Period:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        return self


def compose_invoice(
    *,
    tenant_slug: str,
    tenant_id: str,
    plan: Plan,
    usage: Mapping[str, Decimal],
    period_start: date,
    period_end: date,
) -> InvoiceDraft:
    """Price `usage` (meter slug -> quantity for the period) under `plan`, for the whole period.

    Meters used but absent from the plan are not billed; charged meters with
    no usage bill zero usage (and their minimum, if any).
    """
    _Period(period_start=period_start, period_end=period_end)
    start, end = period_bounds(period_start, period_end)
    return compose_segmented_invoice(
        tenant_slug=tenant_slug,
        tenant_id=tenant_id,
        segments=[SubscriptionSegment(plan, start, end, usage)],
        period_start=period_start,
        period_end=period_end,
    )


# Proration divides by the period's length: enough digits that the one
# rounding per line, not the division, decides the result. A local context,
# because the ambient one is process-global.
_PRORATION_PRECISION = 50


def prorate(value: Decimal, part_seconds: int, whole_seconds: int) -> Decimal:
    """value x part / whole, multiplied first so whole-cent results stay exact."""
    with localcontext() as ctx:
        ctx.prec = _PRORATION_PRECISION
        return to_decimal(value) * part_seconds / whole_seconds


def _prorated_charge(charge: UsageCharge, part_seconds: int, whole_seconds: int, currency: str) -> UsageCharge:
    """A charge for a part of the period: included usage and minimum shrink with time.

    Included usage is rounded UP (in the customer's favour) to the precision
    the plan wrote it in, at least whole units, so an invoice never shows a
    fraction of a free call. The minimum is rounded to the minor unit here,
    so its line states exactly what is topped up to.
    """
    if part_seconds == whole_seconds:
        return charge
    included = charge.included_usage
    step = Decimal(1).scaleb(min(included.as_tuple().exponent, 0))
    update: dict = {"included_usage": prorate(included, part_seconds, whole_seconds).quantize(step, ROUND_CEILING)}
    if charge.minimum is not None:
        minor = round_to_minor_units(prorate(charge.minimum, part_seconds, whole_seconds), currency)
        update["minimum"] = Decimal(minor).scaleb(-currency_exponent(currency))
    return charge.model_copy(update=update)


def _days(seconds: int) -> str:
    return format_decimal((Decimal(seconds) / 86400).quantize(Decimal("0.01")))


def _segment_lines(
    segment: SubscriptionSegment, whole_seconds: int, period_start: date, period_end: date, several: bool
) -> list[tuple[LineKind, dict]]:
    plan = segment.plan
    currency = plan.currency
    part_seconds = int((segment.end - segment.start).total_seconds())
    full = part_seconds == whole_seconds
    if full:
        # period_end is exclusive; the customer reads the last day billed.
        last_day = period_end - timedelta(days=1)
        fee_text = f"{plan.name} ({plan.interval}ly fee, {period_start:%Y-%m-%d} to {last_day:%Y-%m-%d})"
    else:
        fee_text = (
            f"{plan.name} ({plan.interval}ly fee prorated, {segment.start:%Y-%m-%d %H:%M} to "
            f"{segment.end:%Y-%m-%d %H:%M} UTC: {_days(part_seconds)} of {_days(whole_seconds)} days)"
        )
    lines: list[tuple[LineKind, dict]] = [
        (
            "flat_fee",
            dict(
                description=fee_text,
                amount_minor=round_to_minor_units(prorate(plan.flat_fee, part_seconds, whole_seconds), currency),
            ),
        )
    ]
    quantities = {meter: to_decimal(quantity) for meter, quantity in segment.usage.items()}
    for charge in plan.charges:
        billed = _prorated_charge(charge, part_seconds, whole_seconds, currency)
        lines.extend(_charge_lines(billed, quantities.get(charge.meter_slug, Decimal(0)), currency))
    if several or not full:
        # Several plans on one invoice: each usage line says under which plan it was rated.
        suffix = f" [{plan.name}, {segment.start:%Y-%m-%d %H:%M} to {segment.end:%Y-%m-%d %H:%M} UTC]"
        lines = [(kind, fields if kind == "flat_fee" else {**fields, "description": fields["description"] + suffix})
                 for kind, fields in lines]
    return lines


def segment_charge_minor(segment: SubscriptionSegment, meter_slug: str, quantity: Decimal, period_start: date,
                         period_end: date) -> int:
    """What `quantity` of `meter_slug` costs in `segment` of that period, in minor units, as its
    invoice lines would bill it (proration, included usage, tiers, minimum); 0 if not charged."""
    lower, upper = period_bounds(period_start, period_end)
    whole_seconds = int((upper - lower).total_seconds())
    part_seconds = int((segment.end - segment.start).total_seconds())
    currency = segment.plan.currency
    for charge in segment.plan.charges:
        if charge.meter_slug == meter_slug:
            billed = _prorated_charge(charge, part_seconds, whole_seconds, currency)
            return sum(fields["amount_minor"] for _, fields in _charge_lines(billed, quantity, currency))
    return 0


def compose_segmented_invoice(
    *,
    tenant_slug: str,
    tenant_id: str,
    segments: Sequence[SubscriptionSegment],
    period_start: date,
    period_end: date,
    extra_lines: Sequence[tuple[LineKind, dict]] = (),
) -> InvoiceDraft:
    """One invoice for the period from the plans in force in it, in time order.

    Each segment contributes its plan's flat fee prorated by time (seconds of
    the segment / seconds of the period), and its own usage rated under its
    own plan (included usage and minimums prorated likewise). A single segment
    covering the period gives exactly `compose_invoice`'s invoice. `extra_lines`
    (late-usage corrections of earlier invoices) come last.
    """
    if not tenant_slug:
        raise ValueError("tenant_slug is required")
    _Period(period_start=period_start, period_end=period_end)
    if not segments:
        raise ValueError("no subscription was in force during the period: nothing to invoice")
    lower, upper = period_bounds(period_start, period_end)
    ordered = sorted(segments, key=lambda segment: segment.start)
    for previous, current in zip(ordered, ordered[1:]):
        if current.start < previous.end:
            raise ValueError(f"segments overlap at {current.start}")
    if ordered[0].start < lower or ordered[-1].end > upper:
        raise ValueError("segments must lie within the period")
    currencies = {segment.plan.currency for segment in ordered}
    if len(currencies) != 1:
        raise ValueError(f"one invoice has one currency; the period's plans use {sorted(currencies)}")
    (currency,) = currencies
    whole_seconds = int((upper - lower).total_seconds())

    pending: list[tuple[LineKind, dict]] = []
    for segment in ordered:
        pending.extend(_segment_lines(segment, whole_seconds, period_start, period_end, len(ordered) > 1))
    pending.extend(extra_lines)

    lines = tuple(
        InvoiceLine(position=position, kind=kind, **fields)
        for position, (kind, fields) in enumerate(pending, start=1)
    )
    subtotal = sum(line.amount_minor for line in lines)
    return InvoiceDraft(
        number=invoice_number(tenant_slug, period_start),
        tenant_id=tenant_id,
        tenant_slug=tenant_slug,
        plan_slug=ordered[-1].plan.slug,
        currency=currency,
        period_start=period_start,
        period_end=period_end,
        lines=lines,
        subtotal_minor=subtotal,
        total_minor=subtotal,
    )
