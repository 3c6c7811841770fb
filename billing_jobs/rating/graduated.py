"""Graduated (tiered) pricing: each tier prices only the units inside it."""

from __future__ import annotations

from decimal import Decimal

from ..plans import GraduatedCharge, tier_label
from .base import RatedLine

__all__ = ["rate_graduated"]


def rate_graduated(charge: GraduatedCharge, quantity: Decimal, /) -> list[RatedLine]:
    """One line per tier the usage reaches; a tier's flat fee is due once reached.

    No usage bills nothing (one zero line on tier 1), not tier 1's flat fee:
    a meter that was never used should not cost money.
    """
    tiers = charge.tiers
    if quantity == 0:
        return [
            RatedLine(
                meter_slug=charge.meter_slug,
                quantity=Decimal(0),
                unit_price=tiers[0].unit_price,
                amount=Decimal(0),
                tier=tier_label(tiers, 0),
            )
        ]
    lines: list[RatedLine] = []
    lower = Decimal(0)
    for index, tier in enumerate(tiers):
        if quantity <= lower:
            break
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        in_tier = upper - lower
        lines.append(
            RatedLine(
                meter_slug=charge.meter_slug,
                quantity=in_tier,
                unit_price=tier.unit_price,
                amount=in_tier * tier.unit_price + tier.flat_fee,
                tier=tier_label(tiers, index),
                flat_fee=tier.flat_fee,
            )
        )
        if tier.up_to is None:
            break
        lower = tier.up_to
    return lines
