"""What every pricer returns, and the shape of a pricer."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, TypeVar

__all__ = ["Pricer", "RatedLine"]


@dataclass(frozen=True, slots=True)
class RatedLine:
    """One priced piece of a meter's usage, in major units and NOT rounded.

    `amount` = quantity priced by this line (x unit_price, or per package) plus
    `flat_fee`. The invoice composer rounds it once, to the currency's minor unit.
    """

    meter_slug: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    tier: str | None = None
    flat_fee: Decimal = field(default=Decimal(0))
    # Extra wording for the invoice when quantity x unit_price does not explain
    # the amount on its own (packages rounded up).
    detail: str | None = None


C_contra = TypeVar("C_contra", contravariant=True)


class Pricer(Protocol[C_contra]):
    """Prices billable usage (included usage already subtracted, >= 0)."""

    def __call__(self, charge: C_contra, quantity: Decimal, /) -> list[RatedLine]: ...
