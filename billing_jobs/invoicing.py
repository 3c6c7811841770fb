"""Compose an invoice draft from a plan and a period's usage. Pure.

Line order is fixed so a re-run yields the same invoice: the plan's flat fee,
then each charge in plan order (one line per rated line, e.g. per tier
reached), each followed by its minimum top-up if one is due. Every line is
rounded once (money.ROUNDING) to integer minor units; totals are sums of
those integers, so the invoice always adds up exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from .money import format_decimal, round_to_minor_units, to_decimal
from .plans import NonNegativeDecimal, Plan, UsageCharge
from .rating import RatedLine, rate_charge

__all__ = [
    "InvoiceDraft",
    "InvoiceLine",
    "LineKind",
    "billing_period",
    "compose_invoice",
    "invoice_number",
]

LineKind = Literal["flat_fee", "usage", "minimum"]


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


def compose_invoice(
    *,
    tenant_slug: str,
    tenant_id: str,
    plan: Plan,
    usage: Mapping[str, Decimal],
    period_start: date,
    period_end: date,
) -> InvoiceDraft:
    """Price `usage` (meter slug -> quantity for the period) under `plan`.

    Meters used but absent from the plan are not billed; charged meters with
    no usage bill zero usage (and their minimum, if any).
    """
    if not tenant_slug:
        raise ValueError("tenant_slug is required")
    quantities = {meter: to_decimal(quantity) for meter, quantity in usage.items()}
    currency = plan.currency
    # period_end is exclusive; the customer reads the last day billed.
    last_day = period_end - timedelta(days=1)

    pending: list[tuple[LineKind, dict]] = [
        (
            "flat_fee",
            dict(
                description=f"{plan.name} ({plan.interval}ly fee, {period_start:%Y-%m-%d} to {last_day:%Y-%m-%d})",
                amount_minor=round_to_minor_units(plan.flat_fee, currency),
            ),
        )
    ]
    for charge in plan.charges:
        pending.extend(_charge_lines(charge, quantities.get(charge.meter_slug, Decimal(0)), currency))

    lines = tuple(
        InvoiceLine(position=position, kind=kind, **fields)
        for position, (kind, fields) in enumerate(pending, start=1)
    )
    subtotal = sum(line.amount_minor for line in lines)
    return InvoiceDraft(
        number=invoice_number(tenant_slug, period_start),
        tenant_id=tenant_id,
        tenant_slug=tenant_slug,
        plan_slug=plan.slug,
        currency=currency,
        period_start=period_start,
        period_end=period_end,
        lines=lines,
        subtotal_minor=subtotal,
        total_minor=subtotal,
    )
