"""metering.extract_value: a meter's number read from an event's data, exactly, or refused
with the reason a dead letter records. The top-level-key and integer shortcuts must read
and refuse exactly as the general path does."""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import pytest

from metering import extract_value
from metering.meter import InvalidMeterValue


@pytest.mark.parametrize(("data", "path", "expected"), [
    ({"tokens": 42}, "tokens", "42"),
    ({"tokens": -7}, "tokens", "-7"),
    ({"tokens": 10**30}, "tokens", "1000000000000000000000000000000"),
    ({"tokens": 0.1}, "tokens", "0.1"),  # as written, not its binary expansion
    ({"tokens": "12.50"}, "tokens", "12.50"),
    ({"usage": {"tokens": 3}}, "usage.tokens", "3"),
    (OrderedDict(tokens=5), "tokens", "5"),  # any mapping, not only a dict
])
def test_numbers_are_read_exactly(data, path, expected):
    value = extract_value(data, path)
    assert isinstance(value, Decimal) and str(value) == expected


@pytest.mark.parametrize(("data", "path", "reason"), [
    ({}, "tokens", "data.tokens is missing"),
    ({"usage": 1}, "usage.tokens", "data.usage.tokens is missing"),
    ({"tokens": True}, "tokens", "data.tokens is not a number"),
    ({"tokens": None}, "tokens", "data.tokens is not a number"),
    ({"tokens": [1]}, "tokens", "data.tokens is not a number"),
    ({"tokens": "many"}, "tokens", "data.tokens is not a number"),
    ({"tokens": float("inf")}, "tokens", "data.tokens is not a finite number"),
    ({"tokens": "NaN"}, "tokens", "data.tokens is not a finite number"),
])
def test_what_is_not_a_finite_number_is_refused_with_its_reason(data, path, reason):
    with pytest.raises(InvalidMeterValue) as refused:
        extract_value(data, path)
    assert str(refused.value) == reason
