from decimal import Decimal

import pytest

from metering.quantity import plain_quantity


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("4211380"), "4211380"),
    (Decimal("4211380.000"), "4211380"),
    (Decimal("1E+3"), "1000"),
    (Decimal("0.0100"), "0.01"),
    (Decimal("12.500"), "12.5"),
    (Decimal("0"), "0"),
    (Decimal("-300.0"), "-300"),
], ids=["integer", "trailing-zeros", "exponent-in", "small", "fraction", "zero", "negative"])
def test_quantities_are_shown_exact_without_exponents(value, shown):
    result = plain_quantity(value)
    assert str(result) == shown
    assert result == value
