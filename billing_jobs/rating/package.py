"""Package pricing: a price per block of N units; a started block is billed whole."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from ..money import format_decimal
from ..plans import PackageCharge
from .base import RatedLine

__all__ = ["rate_package", "packages_needed"]


def packages_needed(quantity: Decimal, package_size: int) -> Decimal:
    # Decimal division and an explicit ceiling: 201 units in blocks of 100 is
    # 3 blocks. (lago's package_service divides with fdiv, a float; we don't.)
    return (quantity / Decimal(package_size)).to_integral_value(rounding=ROUND_CEILING)


def rate_package(charge: PackageCharge, quantity: Decimal, /) -> list[RatedLine]:
    packages = packages_needed(quantity, charge.package_size)
    return [
        RatedLine(
            meter_slug=charge.meter_slug,
            quantity=quantity,
            unit_price=charge.package_price,
            amount=packages * charge.package_price,
            detail=(
                f"{format_decimal(packages)} package(s) of {charge.package_size} "
                f"at {format_decimal(charge.package_price)} per package"
            ),
        )
    ]
