"""How a quantity is shown: exact, without trailing zeros, and never in exponent notation.

`Decimal.normalize()` alone turns 4211380 into 4.21138E+6, which JSON clients, CSV exports
and people read as a different kind of number; the value is the same either way."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["plain_quantity"]

_ONE = Decimal(1)


def plain_quantity(value: Decimal) -> Decimal:
    normalized = value.normalize()
    if normalized.as_tuple().exponent > 0:  # an integer that normalize() wrote with an exponent
        return normalized.quantize(_ONE)
    return normalized
