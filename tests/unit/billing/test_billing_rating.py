"""Rating: one pricer per model, table-driven, plus properties checked by hypothesis."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_jobs.plans import GraduatedCharge, PackageCharge, Tier, UnitCharge, VolumeCharge
from billing_jobs.rating import UnknownChargeModelError, rate_charge

D = Decimal


def tiers(*spec):
    """tiers((1000, "0.01"), (None, "0.005", "2")) -> [Tier, ...]"""
    return [
        Tier(up_to=None if t[0] is None else D(t[0]), unit_price=D(t[1]), flat_fee=D(t[2]) if len(t) > 2 else D(0))
        for t in spec
    ]


STANDARD_TIERS = tiers((1000, "0.01"), (10000, "0.008"), (None, "0.005"))


def total(lines):
    return sum((line.amount for line in lines), D(0))


@pytest.mark.parametrize(
    ("charge", "quantity", "expected"),
    [
        (UnitCharge(meter_slug="m", unit_price=D("0.25")), D(10), [(D(10), None, D("2.50"))]),
        (UnitCharge(meter_slug="m", unit_price=D("0.25"), included_usage=D(4)), D(10), [(D(6), None, D("1.50"))]),
        (UnitCharge(meter_slug="m", unit_price=D("0.25"), included_usage=D(40)), D(10), [(D(0), None, D(0))]),
        (PackageCharge(meter_slug="m", package_size=100, package_price=D(5)), D(201), [(D(201), None, D(15))]),
        (PackageCharge(meter_slug="m", package_size=100, package_price=D(5)), D(200), [(D(200), None, D(10))]),
        (PackageCharge(meter_slug="m", package_size=100, package_price=D(5)), D(0), [(D(0), None, D(0))]),
        (PackageCharge(meter_slug="m", package_size=100, package_price=D(5)), D("0.1"), [(D("0.1"), None, D(5))]),
        # graduated 15000: 1000 x 0.01 = 10 + 9000 x 0.008 = 72 + 5000 x 0.005 = 25 -> 107
        (GraduatedCharge(meter_slug="m", tiers=STANDARD_TIERS), D(15000), [
            (D(1000), "tier 1 (1-1000)", D(10)),
            (D(9000), "tier 2 (1001-10000)", D(72)),
            (D(5000), "tier 3 (10001+)", D(25)),
        ]),
        (GraduatedCharge(meter_slug="m", tiers=STANDARD_TIERS), D(1000), [(D(1000), "tier 1 (1-1000)", D(10))]),
        (GraduatedCharge(meter_slug="m", tiers=STANDARD_TIERS), D(0), [(D(0), "tier 1 (1-1000)", D(0))]),
        # a tier's flat fee is due once usage reaches the tier: 10 x 1 + (5 + 2 x 0.5)
        (GraduatedCharge(meter_slug="m", tiers=tiers((10, "1"), (None, "0.5", "5"))), D(12), [
            (D(10), "tier 1 (1-10)", D(10)),
            (D(2), "tier 2 (11+)", D(6)),
        ]),
        # volume 15000: all units at tier 3's 0.005 -> 75
        (VolumeCharge(meter_slug="m", tiers=STANDARD_TIERS), D(15000), [(D(15000), "tier 3 (10001+)", D(75))]),
        (VolumeCharge(meter_slug="m", tiers=STANDARD_TIERS), D(10000), [(D(10000), "tier 2 (1001-10000)", D(80))]),
        (VolumeCharge(meter_slug="m", tiers=STANDARD_TIERS), D(1001), [(D(1001), "tier 2 (1001-10000)", D("8.008"))]),
        (VolumeCharge(meter_slug="m", tiers=tiers((10, "1", "3"), (None, "0.5"))), D(0), [(D(0), "tier 1 (1-10)", D(0))]),
        (VolumeCharge(meter_slug="m", tiers=tiers((10, "1", "3"), (None, "0.5"))), D(4), [(D(4), "tier 1 (1-10)", D(7))]),
    ],
    ids=["unit", "unit-included", "unit-all-included", "package-rounds-up", "package-exact", "package-zero",
         "package-fraction", "graduated-three-tiers", "graduated-boundary", "graduated-zero", "graduated-flat-fee",
         "volume-top-tier", "volume-boundary", "volume-just-above", "volume-zero-no-flat-fee", "volume-flat-fee"],
)
def test_rate_charge(charge, quantity, expected):
    lines = rate_charge(charge, quantity)
    assert [(line.quantity, line.tier, line.amount) for line in lines] == expected
    assert all(line.meter_slug == "m" for line in lines)


def test_rated_amounts_are_not_rounded():
    # 3 x 0.0001 stays 0.0003; rounding is the invoice composer's job, once per line.
    (line,) = rate_charge(UnitCharge(meter_slug="m", unit_price=D("0.0001")), D(3))
    assert line.amount == D("0.0003")


def test_unknown_model_raises():
    with pytest.raises(UnknownChargeModelError):
        rate_charge(SimpleNamespace(model="percentage", meter_slug="m", included_usage=D(0)), D(1))
    # a charge whose model field lies about its type is refused too
    lying = UnitCharge(meter_slug="m", unit_price=D(1)).model_copy(update={"model": "volume"})
    with pytest.raises(UnknownChargeModelError):
        rate_charge(lying, D(1))


@pytest.mark.parametrize(
    ("quantity", "error"), [(1.5, TypeError), (D(-1), ValueError)], ids=["float", "negative"]
)
def test_bad_quantities_raise(quantity, error):
    with pytest.raises(error):
        rate_charge(UnitCharge(meter_slug="m", unit_price=D(1)), quantity)


# -- properties -----------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=0, max_value=1_000_000, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def tier_lists(draw, max_bound=500):
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=max_bound), max_size=4)))
    ups = [D(b) for b in bounds] + [None]
    return [Tier(up_to=up, unit_price=draw(prices), flat_fee=draw(prices)) for up in ups]


@st.composite
def charges(draw):
    kind = draw(st.sampled_from(["unit", "package", "graduated", "volume"]))
    common = {"meter_slug": "m", "included_usage": draw(st.sampled_from([D(0), D(10), D("2.5")]))}
    if kind == "unit":
        return UnitCharge(unit_price=draw(prices), **common)
    if kind == "package":
        return PackageCharge(package_size=draw(st.integers(1, 1000)), package_price=draw(prices), **common)
    if kind == "graduated":
        return GraduatedCharge(tiers=draw(tier_lists()), **common)
    return VolumeCharge(tiers=draw(tier_lists()), **common)


@given(tier_lists(), st.integers(min_value=0, max_value=800))
def test_graduated_equals_the_sum_over_its_tiers(tier_list, quantity):
    # Independent oracle: price unit k (k = 1..quantity) at the tier containing
    # it, and add each reached tier's flat fee once.
    expected = D(0)
    reached = set()
    for k in range(1, quantity + 1):
        index = next(i for i, t in enumerate(tier_list) if t.up_to is None or k <= t.up_to)
        expected += tier_list[index].unit_price
        reached.add(index)
    expected += sum((tier_list[i].flat_fee for i in reached), D(0))
    lines = rate_charge(GraduatedCharge(meter_slug="m", tiers=tier_list), D(quantity))
    assert total(lines) == expected
    assert sum(line.quantity for line in lines) == quantity


@given(tier_lists(), quantities)
def test_volume_applies_one_tier_to_all_units(tier_list, quantity):
    (line,) = rate_charge(VolumeCharge(meter_slug="m", tiers=tier_list), quantity)
    index = next(i for i, t in enumerate(tier_list) if t.up_to is None or quantity <= t.up_to)
    flat_fee = tier_list[index].flat_fee if quantity > 0 else D(0)
    assert line.quantity == quantity
    assert line.unit_price == tier_list[index].unit_price
    assert line.amount == quantity * tier_list[index].unit_price + flat_fee


@given(st.integers(1, 1000), prices, quantities)
def test_package_rounds_blocks_up(size, price, quantity):
    (line,) = rate_charge(PackageCharge(meter_slug="m", package_size=size, package_price=price), quantity)
    blocks = line.amount / price if price else None
    if blocks is not None:
        assert blocks == blocks.to_integral_value()
        assert blocks * size >= quantity > (blocks - 1) * size
    else:
        assert line.amount == 0


@given(charges(), quantities, quantities)
def test_totals_are_monotone_in_usage_except_volume(charge, a, b):
    low, high = sorted((a, b))
    if charge.model == "volume":
        return  # volume pricing is not monotone by design (see rating/volume.py)
    assert total(rate_charge(charge, low)) <= total(rate_charge(charge, high))


@given(charges(), quantities)
def test_no_negative_lines(charge, quantity):
    lines = rate_charge(charge, quantity)
    assert lines
    assert all(line.amount >= 0 and line.quantity >= 0 for line in lines)


def test_volume_is_not_monotone_by_design():
    charge = VolumeCharge(meter_slug="m", tiers=tiers((1000, "1"), (None, "0.8")))
    assert total(rate_charge(charge, D(1000))) == D(1000)
    assert total(rate_charge(charge, D(1001))) == D("800.8")
