"""Money: a Decimal amount with its currency, and the one rounding rule.

The rule: amounts stay unrounded Decimals through rating; each invoice line is
rounded ONCE, ROUND_HALF_UP, to the currency's minor unit (cents for USD, whole
yen for JPY) and from then on travels as an integer of minor units. Rounding
per line (not per unit, not per invoice) is what the customer can re-check on
the invoice: every printed line is exact and the total is their sum.

Floats never enter: 0.1 + 0.2 is not 0.3 in binary, so any float reaching this
module raises TypeError instead of being silently converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Final

__all__ = [
    "CURRENCY_EXPONENTS",
    "ROUNDING",
    "Money",
    "UnknownCurrencyError",
    "currency_exponent",
    "format_decimal",
    "round_to_minor_units",
    "to_decimal",
]

ROUNDING: Final = ROUND_HALF_UP

# Digits after the decimal point of each currency's minor unit (ISO 4217).
# A small table on purpose: a currency we have not checked is refused rather
# than guessed, because a wrong exponent bills 100x too much or too little.
CURRENCY_EXPONENTS: Final = MappingProxyType(
    {
        "USD": 2,
        "EUR": 2,
        "GBP": 2,
        "CHF": 2,
        "CAD": 2,
        "AUD": 2,
        "JPY": 0,
        "KRW": 0,
    }
)


class UnknownCurrencyError(ValueError):
    """A currency code missing from CURRENCY_EXPONENTS."""


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        raise UnknownCurrencyError(f"unknown currency {currency!r}") from None


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Convert exact inputs to Decimal; refuse floats (and bools, which are ints)."""
    if isinstance(value, float):
        raise TypeError(f"float {value!r} is not allowed in money code; pass a Decimal or a str")
    if isinstance(value, bool):
        raise TypeError("bool is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)):
        result = Decimal(value)
    else:
        raise TypeError(f"cannot use {type(value).__name__} as a Decimal")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def round_to_minor_units(amount: Decimal, currency: str) -> int:
    """Round once, ROUND_HALF_UP, and return an integer count of minor units."""
    amount = to_decimal(amount)
    exponent = currency_exponent(currency)
    # quantize with an explicit rounding mode: the ambient decimal context is
    # process-global state and must not decide what a customer pays.
    rounded = amount.quantize(Decimal(1).scaleb(-exponent), rounding=ROUNDING)
    return int(rounded.scaleb(exponent))


def format_decimal(value: Decimal) -> str:
    """Plain notation without trailing zeros: Decimal('1E+3') -> '1000'."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


@dataclass(frozen=True, slots=True)
class Money:
    """An immutable amount in major units (49.00 USD), unrounded until asked."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor_units(cls, minor: int, currency: str) -> Money:
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise TypeError("minor units are an int")
        return cls(Decimal(minor).scaleb(-currency_exponent(currency)), currency)

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other).amount

    def rounded(self) -> Money:
        return Money.from_minor_units(self.to_minor_units(), self.currency)

    def to_minor_units(self) -> int:
        return round_to_minor_units(self.amount, self.currency)

    def __str__(self) -> str:
        exponent = currency_exponent(self.currency)
        return f"{self.amount.quantize(Decimal(1).scaleb(-exponent), rounding=ROUNDING)} {self.currency}"
