"""Dunning decisions: the sequence by day, once each, and a payment ending it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_jobs.dunning import DunningInvoice, DunningSchedule, plan_dunning

DUE = datetime(2026, 11, 1, 9, tzinfo=timezone.utc)
SCHEDULE = DunningSchedule()  # reminders 3, 7, 14; past due 15; suspended 22


def steps(day: int, status="payment_failed", done=(), hours: int = 0) -> list[str]:
    invoice = DunningInvoice("ML-A-202610", status, DUE, frozenset(done))
    return [a.step for a in plan_dunning(DUE + timedelta(days=day, hours=hours), SCHEDULE, [invoice])]


@pytest.mark.parametrize(("day", "done", "expected"), [
    (0, (), []),
    (2, (), []),
    (3, (), ["reminder_3"]),
    (3, ("reminder_3",), []),
    (6, ("reminder_3",), []),
    (7, ("reminder_3",), ["reminder_7"]),
    (14, ("reminder_3", "reminder_7"), ["reminder_14"]),
    (15, ("reminder_3", "reminder_7", "reminder_14"), ["past_due"]),
    (21, ("reminder_14", "past_due"), []),
    (22, ("reminder_14", "past_due"), ["suspend"]),
    (40, ("reminder_14", "past_due", "suspend"), []),
    # Back after a 10-day outage: only the latest reminder, not three at once.
    (10, (), ["reminder_7"]),
    # Never run before day 30: everything due at once, in order.
    (30, (), ["reminder_14", "past_due", "suspend"]),  # the last reminder retries the charge first
], ids=lambda v: str(v))
def test_the_sequence_by_day(day, done, expected):
    assert steps(day, done=done) == expected


def test_a_day_is_a_whole_day():
    assert steps(2, hours=23) == [] and steps(3) == ["reminder_3"]


@pytest.mark.parametrize("status", ["paid", "void", "refunded"])
def test_a_settled_invoice_has_no_steps(status):
    assert steps(30, status=status) == []


@pytest.mark.parametrize(("done", "expected"), [
    (("reminder_3", "reminder_7"), []),  # paid before escalation: nothing to lift
    (("reminder_14", "past_due"), ["reinstate"]),
    (("reminder_14", "past_due", "suspend"), ["reinstate"]),
    (("past_due", "suspend", "reinstate"), []),
], ids=["not-escalated", "past-due", "suspended", "already-reinstated"])
def test_payment_lifts_an_escalation_once(done, expected):
    assert steps(25, status="paid", done=done) == expected


def test_no_reinstatement_while_another_invoice_is_past_due():
    paid = DunningInvoice("ML-A-202609", "paid", DUE - timedelta(days=31), frozenset({"past_due", "suspend"}))
    unpaid = DunningInvoice("ML-A-202610", "payment_failed", DUE, frozenset({"reminder_14", "past_due"}))
    now = DUE + timedelta(days=16)
    assert [a.step for a in plan_dunning(now, SCHEDULE, [paid, unpaid])] == []
    settled = DunningInvoice("ML-A-202610", "paid", DUE, unpaid.steps_done)
    assert [(a.invoice_number, a.step) for a in plan_dunning(now, SCHEDULE, [paid, settled])] == [
        ("ML-A-202609", "reinstate"), ("ML-A-202610", "reinstate")]


@pytest.mark.parametrize("kwargs", [dict(reminder_days=()), dict(reminder_days=(7, 3)),
                                    dict(past_due_days=10), dict(suspend_days=14)],
                         ids=["empty", "unordered", "past-due-before-last-reminder", "suspend-before-past-due"])
def test_invalid_schedules(kwargs):
    with pytest.raises(ValueError):
        DunningSchedule(**kwargs)


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="aware"):
        plan_dunning(datetime(2026, 11, 5), SCHEDULE, [DunningInvoice("x", "open", DUE)])


@given(st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=15))
def test_running_daily_at_any_days_sends_each_step_at_most_once(days):
    done: set[str] = set()
    sent: list[str] = []
    for day in sorted(days) + sorted(days):  # and every run again
        for step in steps(day, done=done):
            assert step not in done
            done.add(step)
            sent.append(step)
    assert len(sent) == len(set(sent))
    if max(days) >= 22:
        assert {"past_due", "suspend"} <= done
