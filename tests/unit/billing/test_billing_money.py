"""Money: currency exponents, the one rounding rule, and no floats."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import billing_jobs
from billing_jobs.money import (
    Money,
    UnknownCurrencyError,
    currency_exponent,
    format_decimal,
    round_to_minor_units,
    to_decimal,
)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [("USD", 2), ("EUR", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0)],
    ids=["usd", "eur", "gbp", "jpy", "krw"],
)
def test_currency_exponents(currency, exponent):
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["XXX", "usd", "", None], ids=["unknown", "lowercase", "empty", "none"])
def test_unknown_currency_is_refused(currency):
    with pytest.raises(UnknownCurrencyError):
        currency_exponent(currency)
    with pytest.raises(UnknownCurrencyError):
        Money(Decimal(1), currency)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("0.005", "USD", 1),  # half-up: banker's rounding would give 0
        ("0.015", "USD", 2),
        ("0.025", "USD", 3),  # half-up again (half-even would give 2)
        ("0.0049999", "USD", 0),
        ("49.00", "USD", 4900),
        ("1234.5", "JPY", 1235),  # JPY has no minor unit: whole yen
        ("1234.49", "JPY", 1234),
        ("0.5", "KRW", 1),
        ("-0.005", "USD", -1),  # half-up rounds away from zero
    ],
    ids=["usd-half-cent", "usd-1.5c", "usd-2.5c", "usd-below-half", "usd-whole", "jpy-half", "jpy-below-half",
         "krw-half", "usd-negative-half"],
)
def test_round_to_minor_units_is_half_up(amount, currency, minor):
    assert round_to_minor_units(Decimal(amount), currency) == minor


def test_jpy_has_no_minor_unit():
    yen = Money.from_minor_units(1234, "JPY")
    assert yen.amount == Decimal(1234)
    assert yen.to_minor_units() == 1234
    assert str(Money(Decimal("1234.5"), "JPY")) == "1235 JPY"
    assert str(Money(Decimal("12.345"), "USD")) == "12.35 USD"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Money(0.1, "USD"),
        lambda: Money(Decimal(1), "USD") * 0.5,
        lambda: 0.5 * Money(Decimal(1), "USD"),
        lambda: to_decimal(1.0),
        lambda: round_to_minor_units(1.5, "USD"),
        lambda: Money.from_minor_units(1.0, "USD"),
        lambda: to_decimal(True),
    ],
    ids=["constructor", "multiply", "rmultiply", "to-decimal", "round", "from-minor", "bool"],
)
def test_floats_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_money_arithmetic_keeps_currency_and_refuses_mixing():
    total = Money(Decimal("1.10"), "EUR") + Money(Decimal("2.205"), "EUR")
    assert total == Money(Decimal("3.305"), "EUR")
    assert total.rounded() == Money(Decimal("3.31"), "EUR")
    assert (total * 2).amount == Decimal("6.610")
    with pytest.raises(ValueError, match="currency mismatch"):
        _ = Money(Decimal(1), "EUR") + Money(Decimal(1), "USD")


def test_money_is_immutable():
    money = Money(Decimal(1), "USD")
    with pytest.raises(AttributeError):
        money.amount = Decimal(2)  # type: ignore[misc]


@pytest.mark.parametrize("value", ["NaN", "Infinity"], ids=["nan", "inf"])
def test_non_finite_is_refused(value):
    with pytest.raises(ValueError):
        to_decimal(Decimal(value))


@given(st.integers(min_value=-10**12, max_value=10**12), st.sampled_from(["USD", "JPY", "EUR"]))
def test_minor_units_round_trip(minor, currency):
    assert Money.from_minor_units(minor, currency).to_minor_units() == minor


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("1E+3"), "1000"), (Decimal("0.0100"), "0.01"), (Decimal("-0"), "0"), (Decimal(0), "0")],
    ids=["exponent", "trailing-zeros", "negative-zero", "zero"],
)
def test_format_decimal(value, text):
    assert format_decimal(value) == text


def test_package_exports_exist():
    for name in billing_jobs.__all__:
        assert hasattr(billing_jobs, name), name
    assert "stripe" not in {module.split(".")[0] for module in billing_jobs.__all__}
