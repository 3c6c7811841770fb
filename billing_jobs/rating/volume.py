"""Volume pricing: the tier the total falls in prices every unit.

Unlike graduated pricing this is not monotone: with 1-1000 at 1.00 and 1001+
at 0.80, 1000 units cost 1000.00 but 1001 cost 800.80. That is the model's
intent (a volume discount), not a bug.
"""

from __future__ import annotations

from decimal import Decimal

from ..plans import Tier, VolumeCharge, tier_label
from .base import RatedLine

__all__ = ["rate_volume", "volume_tier_index"]


def volume_tier_index(tiers: list[Tier], quantity: Decimal) -> int:
    for index, tier in enumerate(tiers):
        if tier.up_to is None or quantity <= tier.up_to:
            return index
    raise AssertionError("validated tiers always end with an unbounded tier")


def rate_volume(charge: VolumeCharge, quantity: Decimal, /) -> list[RatedLine]:
    index = volume_tier_index(charge.tiers, quantity)
    tier = charge.tiers[index]
    # No usage bills nothing, not even the tier's flat fee (same rule as graduated).
    flat_fee = tier.flat_fee if quantity > 0 else Decimal(0)
    return [
        RatedLine(
            meter_slug=charge.meter_slug,
            quantity=quantity,
            unit_price=tier.unit_price,
            amount=quantity * tier.unit_price + flat_fee,
            tier=tier_label(charge.tiers, index),
            flat_fee=flat_fee,
        )
    ]
