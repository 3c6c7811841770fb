"""Plans: validation per charge model, and the JSON round trip for storage and API."""

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from billing_jobs.plans import GraduatedCharge, PackageCharge, Plan, Tier, UnitCharge, VolumeCharge, tier_label

TIERS = [
    {"up_to": "1000", "unit_price": "0.01"},
    {"up_to": "10000", "unit_price": "0.008", "flat_fee": "1.50"},
    {"up_to": None, "unit_price": "0.005"},
]


def plan_data(**overrides):
    data = {
        "slug": "pro-2026",
        "name": "Pro",
        "currency": "USD",
        "interval": "month",
        "flat_fee": "49.00",
        "charges": [
            {"meter_slug": "api_calls", "model": "unit", "unit_price": "0.0001", "included_usage": "1000"},
            {"meter_slug": "storage-gb", "model": "package", "package_size": 100, "package_price": "5.00",
             "minimum": "20.00"},
            {"meter_slug": "events", "model": "graduated", "tiers": TIERS},
            {"meter_slug": "seats", "model": "volume", "tiers": TIERS},
        ],
        "limits": [
            {"meter_slug": "api_calls", "quantity": "1000000", "kind": "soft"},
            {"meter_slug": "api_calls", "quantity": "2000000", "kind": "hard"},
        ],
    }
    data.update(overrides)
    return data


def test_plan_round_trips_through_json():
    plan = Plan.model_validate(plan_data())
    dumped = plan.model_dump(mode="json")
    # Decimals travel as strings, with their scale intact.
    assert dumped["flat_fee"] == "49.00"
    assert dumped["charges"][0]["unit_price"] == "0.0001"
    again = Plan.model_validate(json.loads(json.dumps(dumped)))
    assert again == plan
    assert Plan.model_validate_json(plan.model_dump_json()) == plan
    assert [type(charge) for charge in plan.charges] == [UnitCharge, PackageCharge, GraduatedCharge, VolumeCharge]
    assert plan.charges[2].tiers[1].flat_fee == Decimal("1.50")


@pytest.mark.parametrize(
    "overrides",
    [
        {"flat_fee": 49.0},
        {"charges": [{"meter_slug": "a", "model": "unit", "unit_price": 0.01}]},
        {"charges": [{"meter_slug": "a", "model": "unit", "unit_price": "0.01", "included_usage": 10.0}]},
        {"charges": [{"meter_slug": "a", "model": "package", "package_size": 100.0, "package_price": "1"}]},
        {"limits": [{"meter_slug": "a", "quantity": 5.5, "kind": "soft"}]},
        {"charges": [{"meter_slug": "a", "model": "volume",
                      "tiers": [{"up_to": 10.0, "unit_price": "1"}, {"up_to": None, "unit_price": "1"}]}]},
    ],
    ids=["flat-fee", "unit-price", "included-usage", "package-size", "limit-quantity", "tier-up-to"],
)
def test_float_input_is_rejected(overrides):
    with pytest.raises(ValidationError, match="float"):
        Plan.model_validate(plan_data(**overrides))


def test_float_in_json_is_rejected():
    with pytest.raises(ValidationError):
        Plan.model_validate_json(json.dumps(plan_data(flat_fee=49.5)))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slug": "Pro"}, "pattern"),
        ({"slug": "pro plan"}, "pattern"),
        ({"currency": "usd"}, "pattern"),
        ({"currency": "XYZ"}, "unknown currency"),
        ({"interval": "year"}, "month"),
        ({"flat_fee": "-1"}, ">= 0"),
        ({"name": "  "}, "at least 1"),
        ({"charges": [{"meter_slug": "a", "model": "tiered", "unit_price": "1"}]}, "does not match any"),
        ({"charges": [{"meter_slug": "a", "model": "unit"}]}, "unit_price"),
        ({"charges": [{"meter_slug": "a", "model": "package", "package_size": 0, "package_price": "1"}]},
         "greater than 0"),
        ({"charges": [{"meter_slug": "a", "model": "graduated", "tiers": []}]}, "at least one tier"),
        ({"charges": [{"meter_slug": "a", "model": "graduated", "tiers": [{"up_to": "5", "unit_price": "1"}]}]},
         "last tier"),
        ({"charges": [{"meter_slug": "a", "model": "volume", "tiers": [
            {"up_to": "10", "unit_price": "1"}, {"up_to": "10", "unit_price": "1"}, {"up_to": None, "unit_price": "1"}]}]},
         "strictly increasing"),
        ({"charges": [{"meter_slug": "a", "model": "volume", "tiers": [
            {"up_to": None, "unit_price": "1"}, {"up_to": None, "unit_price": "1"}]}]}, "only the last"),
        ({"charges": [{"meter_slug": "a", "model": "unit", "unit_price": "1"},
                      {"meter_slug": "a", "model": "unit", "unit_price": "2"}]}, "at most one charge"),
        ({"limits": [{"meter_slug": "a", "quantity": "1", "kind": "hard"},
                     {"meter_slug": "a", "quantity": "2", "kind": "hard"}]}, "at most one soft"),
        ({"limits": [{"meter_slug": "a", "quantity": "1", "kind": "warn"}]}, "soft"),
        ({"unknown_field": 1}, "Extra inputs"),
    ],
    ids=["slug-upper", "slug-space", "currency-lower", "currency-unknown", "interval", "negative-fee", "blank-name",
         "unknown-model", "unit-without-price", "package-size-zero", "no-tiers", "last-tier-bounded",
         "tiers-not-increasing", "unbounded-in-middle", "duplicate-charge", "duplicate-limit", "limit-kind",
         "extra-field"],
)
def test_invalid_plans_are_rejected(overrides, message):
    with pytest.raises(ValidationError, match=message):
        Plan.model_validate(plan_data(**overrides))


def test_plans_are_immutable():
    plan = Plan.model_validate(plan_data())
    with pytest.raises(ValidationError):
        plan.flat_fee = Decimal(1)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("up_tos", "index", "label"),
    [
        (["1000", "10000", None], 0, "tier 1 (1-1000)"),
        (["1000", "10000", None], 1, "tier 2 (1001-10000)"),
        (["1000", "10000", None], 2, "tier 3 (10001+)"),
        (["0.5", None], 1, "tier 2 (>0.5+)"),
        ([None], 0, "tier 1 (1+)"),
    ],
    ids=["first", "middle", "last", "fractional", "single"],
)
def test_tier_labels(up_tos, index, label):
    tiers = [Tier(up_to=None if u is None else Decimal(u), unit_price=Decimal(1)) for u in up_tos]
    assert tier_label(tiers, index) == label
