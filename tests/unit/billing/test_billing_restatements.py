"""MAX and LATEST meters restated for an invoiced period (billing_jobs.corrections): which
late usage records what, and what the next invoice bills against what was billed."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from billing_jobs.corrections import (
    RESTATEMENT, AppliedCorrection, CorrectedPeriod, LateUsage, PendingCorrection, applied_corrections,
    correction_lines, late_usage_corrections, restatement_lines,
)
from billing_jobs.invoice_service import issue_invoice
from billing_jobs.invoicing import compose_segmented_invoice
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSegment
from tests.unit.billing.test_billing_invoice_service import FakeInvoiceStore, FakeStripeGateway

D = Decimal
OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


class Issued:
    def __init__(self, number: str, start: datetime, end: datetime) -> None:
        self.number, self.start, self.end = number, start, end


PEAK = Plan.model_validate({"slug": "p", "name": "Peak", "currency": "USD", "charges": [
    {"meter_slug": "peak", "model": "unit", "unit_price": "0.50", "included_usage": "10"}]})


def period(peak_now: str, billed: int, plan: Plan = PEAK) -> CorrectedPeriod:
    return CorrectedPeriod(OCT, NOV, [SubscriptionSegment(plan, at(10, 1), at(11, 1), {"peak": D(peak_now)})],
                           {"peak": billed})


def restate(correction_id: int, number: str = "N", meter: str = "peak", events: int = 1) -> PendingCorrection:
    return PendingCorrection(correction_id, number, meter, at(10, 1), D(0), RESTATEMENT, events)


def test_additive_meters_add_units_per_hour_and_others_restate_per_invoice():
    october, november = Issued("OCT", at(10, 1), at(11, 1)), Issued("NOV", at(11, 1), at(12, 1))
    rows = late_usage_corrections([
        LateUsage("api", at(10, 5, 3), "COUNT", D(2), 2),
        LateUsage("api", at(10, 5, 3), "COUNT", D(1), 1),  # another group, same hour: summed
        LateUsage("gb", at(10, 6), "SUM", D("1.5"), 1),
        LateUsage("peak", at(10, 5, 3), "MAX", D(40), 3),
        LateUsage("peak", at(10, 20), "MAX", D(7), 1),  # same invoice: one restatement
        LateUsage("seats", at(11, 2), "LATEST", D(4), 1),
        LateUsage("users", at(10, 5), "UNIQUE_COUNT", D(9), 9),  # not billable: nothing
        LateUsage("peak", at(12, 2), "MAX", D(1), 1),  # not in an issued period: nothing
    ], [october, november])
    assert sorted(rows) == sorted([
        ("OCT", "api", at(10, 5, 3), D(3), 3, "delta"),
        ("OCT", "gb", at(10, 6), D("1.5"), 1, "delta"),
        ("OCT", "peak", at(10, 1), D(0), 4, "restate"),
        ("NOV", "seats", at(11, 1), D(0), 1, "restate"),
    ])


@pytest.mark.parametrize(("peak_now", "billed", "amount"), [
    ("30", 1000, 0),  # the late event did not raise the max: nothing to bill
    ("40", 1000, 500),  # (40 - 10) x 0.50 = 15.00, 10.00 billed
    ("8", 0, 0),  # still inside the included usage
    ("20", 1000, -500),  # a LATEST value restated lower: a credit
], ids=["not-raised", "raised", "within-included", "lowered"])
def test_restatement_bills_what_the_period_costs_now_minus_what_was_billed(peak_now, billed, amount):
    lines, amounts = restatement_lines([restate(7)], {"N": period(peak_now, billed)}, "USD")
    assert amounts == {7: amount}
    if amount == 0:
        assert lines == []
    else:
        [(kind, fields)] = lines
        assert (kind, fields["meter_slug"], fields["amount_minor"]) == ("correction", "peak", amount)
        assert fields["description"].startswith(f"Restated usage for invoice N: peak is now {peak_now}")


def test_pending_restatements_of_one_pair_bill_once():
    lines, amounts = restatement_lines([restate(3), restate(4), restate(5, number="M")],
                                       {"N": period("40", 1000), "M": period("12", 0)}, "USD")
    assert amounts == {3: 500, 4: 0, 5: 100}
    assert [f["amount_minor"] for _, f in lines] == [100, 500]  # by invoice number: M, then N


def test_restatements_across_plan_segments_sum_every_charging_segment():
    other = Plan.model_validate({"slug": "q", "name": "Flat", "currency": "USD", "charges": [
        {"meter_slug": "peak", "model": "unit", "unit_price": "1"}]})
    segments = [SubscriptionSegment(PEAK, at(10, 1), at(10, 16), {"peak": D(40)}),
                SubscriptionSegment(other, at(10, 16), at(11, 1), {"peak": D(5)})]
    # First half: 15 days of 31 prorate the included 10 to 4.838...; rate the rest at 0.50.
    draft = compose_segmented_invoice(tenant_slug="t", tenant_id="t", segments=segments,
                                      period_start=OCT, period_end=NOV)
    now = sum(line.amount_minor for line in draft.lines if line.meter_slug == "peak")
    lines, amounts = restatement_lines([restate(1)], {"N": CorrectedPeriod(OCT, NOV, segments, {"peak": 100})},
                                       "USD")
    assert amounts == {1: now - 100}
    [(_, fields)] = lines
    assert "rated under Peak, Flat" in fields["description"]


def test_additive_and_restating_corrections_do_not_mix():
    delta = PendingCorrection(1, "N", "peak", at(10, 5), D(3), "delta", 3)
    assert restatement_lines([delta], {}, "USD") == ([], {})
    assert correction_lines([restate(2)], {}, "USD") == []


def test_a_restatement_without_a_plan_or_in_another_currency_is_refused():
    with pytest.raises(ValueError, match="no plan"):
        restatement_lines([restate(1)], {"N": CorrectedPeriod(OCT, NOV, [])}, "USD")
    with pytest.raises(ValueError, match="in USD, the invoice is in EUR"):
        restatement_lines([restate(1)], {"N": period("40", 0)}, "EUR")


def test_applied_corrections_carry_a_restatements_amount_only():
    delta = PendingCorrection(1, "N", "api", at(10, 5), D(3), "delta", 3)
    assert applied_corrections([delta, restate(2, events=4)], {2: 500}) == [
        AppliedCorrection(1, D(3), 3, None), AppliedCorrection(2, D(0), 4, 500)]


def test_the_next_invoice_bills_restatements_and_records_their_amounts():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway()
    # An additive correction is still rated at the margin (40 -> 37 units: 1.50); restatements follow.
    delta = PendingCorrection(1, "N", "peak", at(10, 5), D(3), "delta", 3)
    stored = issue_invoice(
        store=store, gateway=gateway, tenant_id="t-1", tenant_slug="acme", customer_id="cus_1",
        segments=[SubscriptionSegment(PEAK, at(11, 1), at(12, 1), {})],
        period_start=NOV, period_end=date(2026, 12, 1),
        corrections=[restate(2, events=2), restate(3, number="M"), delta],
        corrected_periods={"N": period("40", 1000), "M": period("30", 1000)},
    )
    assert [(line.kind, line.meter_slug, line.amount_minor) for line in stored.draft.lines
            if line.kind == "correction"] == [("correction", "peak", 150), ("correction", "peak", 500)]
    assert stored.draft.total_minor == 150 + 500  # no fee, no usage of its own; M's restatement bills 0
    assert store.applied[stored.draft.number] == [
        AppliedCorrection(2, D(0), 2, 500), AppliedCorrection(3, D(0), 1, 0), AppliedCorrection(1, D(3), 3, None)]
