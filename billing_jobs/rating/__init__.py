"""Rating: turn one charge and the period's usage into unrounded rated lines.

`rate_charge` is the one dispatch. It subtracts included usage first, so every
pricer sees billable units only, and raises on a model it does not know.
Pure: no I/O, no clock, no settings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..money import to_decimal
from ..plans import GraduatedCharge, PackageCharge, UnitCharge, UsageCharge, VolumeCharge
from .base import Pricer, RatedLine
from .graduated import rate_graduated
from .package import packages_needed, rate_package
from .unit import rate_unit
from .volume import rate_volume, volume_tier_index

__all__ = [
    "Pricer",
    "RatedLine",
    "UnknownChargeModelError",
    "billable_quantity",
    "packages_needed",
    "rate_charge",
    "rate_graduated",
    "rate_package",
    "rate_unit",
    "rate_volume",
    "volume_tier_index",
]


class UnknownChargeModelError(ValueError):
    """A charge whose `model` has no pricer."""


_PRICERS: dict[str, tuple[type, Pricer[Any]]] = {
    "unit": (UnitCharge, rate_unit),
    "package": (PackageCharge, rate_package),
    "graduated": (GraduatedCharge, rate_graduated),
    "volume": (VolumeCharge, rate_volume),
}


def billable_quantity(charge: UsageCharge, quantity: Decimal) -> Decimal:
    quantity = to_decimal(quantity)
    if quantity < 0:
        raise ValueError(f"usage of {charge.meter_slug!r} is negative: {quantity}")
    return max(quantity - charge.included_usage, Decimal(0))


def rate_charge(charge: UsageCharge, quantity: Decimal) -> list[RatedLine]:
    model = getattr(charge, "model", None)
    entry = _PRICERS.get(model) if isinstance(model, str) else None
    if entry is None or not isinstance(charge, entry[0]):
        raise UnknownChargeModelError(f"no pricer for charge model {model!r}")
    _, pricer = entry
    return pricer(charge, billable_quantity(charge, quantity))
