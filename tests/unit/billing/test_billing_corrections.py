"""Late usage rated at the margin under the plan of its period (billing_jobs.corrections)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from billing_jobs.corrections import CorrectedPeriod, PendingCorrection, correction_lines
from billing_jobs.invoicing import compose_segmented_invoice
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSegment

D = Decimal
OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=timezone.utc)


def plan(charge: dict, slug: str = "p") -> Plan:
    return Plan.model_validate({"slug": slug, "name": slug.upper(), "currency": "USD", "charges": [charge]})


GRADUATED = {"meter_slug": "api", "model": "graduated",
             "tiers": [{"up_to": "1000", "unit_price": "0.01"}, {"up_to": None, "unit_price": "0.005"}]}


@pytest.mark.parametrize(("charge", "usage_now", "late", "amount"), [
    (GRADUATED, 1200, 300, 200),  # 11.00 - 9.00: 100 late units in tier 1, 200 in tier 2
    (GRADUATED, 500, 100, 100),
    ({"meter_slug": "api", "model": "unit", "unit_price": "0.10", "included_usage": "1000"}, 1050, 100, 500),
    ({"meter_slug": "api", "model": "unit", "unit_price": "0.10", "included_usage": "1000"}, 900, 100, 0),
    ({"meter_slug": "api", "model": "unit", "unit_price": "0.01", "minimum": "5"}, 300, 100, 0),
    ({"meter_slug": "api", "model": "package", "package_size": 100, "package_price": "1"}, 201, 1, 100),
    ({"meter_slug": "api", "model": "volume",
      "tiers": [{"up_to": "1000", "unit_price": "0.02"}, {"up_to": None, "unit_price": "0.01"}]}, 1100, 200, -700),
], ids=["graduated-across-tiers", "graduated-inside", "beyond-included", "within-included", "under-minimum",
        "starts-a-package", "volume-drops-a-tier"])
def test_margin(charge, usage_now, late, amount):
    segment = SubscriptionSegment(plan(charge), at(1), datetime(2026, 11, 1, tzinfo=timezone.utc),
                                  {"api": D(usage_now)})
    lines = correction_lines([PendingCorrection(1, "ML-A-202610", "api", at(5, 10), D(late))],
                             {"ML-A-202610": CorrectedPeriod(OCT, NOV, [segment])}, "USD")
    # A correction that costs nothing gets no line, as a restatement of 0 gets none.
    assert [(kind, line["quantity"], line["amount_minor"]) for kind, line in lines] == (
        [("correction", D(late), amount)] if amount else [])


def test_late_usage_goes_to_the_plan_in_force_in_its_hour():
    cheap, dear = plan({"meter_slug": "api", "model": "unit", "unit_price": "0.01"}, "cheap"), \
        plan({"meter_slug": "api", "model": "unit", "unit_price": "0.10"}, "dear")
    segments = [SubscriptionSegment(cheap, at(1), at(11), {"api": D(10)}),
                SubscriptionSegment(dear, at(11), datetime(2026, 11, 1, tzinfo=timezone.utc), {"api": D(10)})]
    lines = correction_lines([PendingCorrection(1, "N", "api", at(5), D(10)),
                              PendingCorrection(2, "N", "api", at(20), D(10)),
                              PendingCorrection(3, "N", "gb", at(20), D(10))],  # no charge for gb: no line
                             {"N": CorrectedPeriod(OCT, NOV, segments)}, "USD")
    assert [(line["amount_minor"], "CHEAP" in line["description"]) for _, line in lines] == [(10, True), (100, False)]


def test_corrections_are_the_last_lines_and_add_up():
    segment = SubscriptionSegment(plan(GRADUATED), datetime(2026, 11, 1, tzinfo=timezone.utc),
                                  datetime(2026, 12, 1, tzinfo=timezone.utc), {"api": D(100)})
    extra = [("correction", {"meter_slug": "api", "quantity": D(3), "description": "late", "amount_minor": 3})]
    draft = compose_segmented_invoice(tenant_slug="a", tenant_id="t", segments=[segment], period_start=NOV,
                                      period_end=date(2026, 12, 1), extra_lines=extra)
    assert draft.lines[-1].kind == "correction" and draft.total_minor == 100 + 3 + 0


def test_other_currency_or_missing_period_refused():
    segment = SubscriptionSegment(plan(GRADUATED), at(1), datetime(2026, 11, 1, tzinfo=timezone.utc), {})
    correction = PendingCorrection(1, "N", "api", at(5), D(1))
    with pytest.raises(ValueError, match="EUR"):
        correction_lines([correction], {"N": CorrectedPeriod(OCT, NOV, [segment])}, "EUR")
    with pytest.raises(ValueError, match="no plan"):
        correction_lines([correction], {}, "USD")
