"""Unit pricing: every unit costs the same."""

from __future__ import annotations

from decimal import Decimal

from ..plans import UnitCharge
from .base import RatedLine

__all__ = ["rate_unit"]


def rate_unit(charge: UnitCharge, quantity: Decimal, /) -> list[RatedLine]:
    return [
        RatedLine(
            meter_slug=charge.meter_slug,
            quantity=quantity,
            unit_price=charge.unit_price,
            amount=quantity * charge.unit_price,
        )
    ]
