"""The API services' rules that need no database: ranges, plan changes, cancellations,
webhook secrets and unbillable meters. Each is a pure function of its arguments."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from api.billability import could_be_unbillable, refuse_unbillable
from api.domain_errors import Conflict, FieldProblem, InvalidInput
from api.notifications.service import webhook_secret_after_update
from api.stream_health.service import duplicates_range
from api.subscriptions.migration import check_backdated_start
from api.subscriptions.service import cancellation_end, check_plan_change
from api.usage.service import usage_range
from billing_jobs.plans import Plan
from warehouse.postgres.plans import SubscriptionRecord

NOW = datetime(2026, 3, 15, 12, 30, tzinfo=timezone.utc)


def _plan(slug: str = "pro", currency: str = "USD", priced: tuple[str, ...] = ("api-calls",)) -> Plan:
    return Plan.model_validate({
        "slug": slug, "name": slug.title(), "currency": currency, "interval": "month", "flat_fee": "10.00",
        "charges": [{"meter_slug": meter, "model": "unit", "unit_price": "0.01"} for meter in priced],
    })


def _live(plan: Plan, canceled_at: datetime | None = None) -> SubscriptionRecord:
    return SubscriptionRecord(uuid.uuid4(), uuid.uuid4(), plan, "active", NOW - timedelta(days=20), canceled_at)


# -- usage ranges --------------------------------------------------------------------------------

def test_usage_range_defaults_to_the_24_hours_before_now() -> None:
    assert usage_range(None, None, NOW) == (NOW - timedelta(hours=24), NOW)


def test_usage_range_defaults_from_to_24_hours_before_the_given_to() -> None:
    end = NOW - timedelta(days=3)
    assert usage_range(None, end, NOW) == (end - timedelta(hours=24), end)


@pytest.mark.parametrize("start, end, window, field, message", [
    (NOW, NOW, "hour", "from", "`from` must be before `to`"),
    (NOW, NOW - timedelta(seconds=1), "hour", "from", "`from` must be before `to`"),
    (NOW - timedelta(days=367), NOW, "day", "to", "the range may span at most 366 days"),
    (NOW - timedelta(days=7, seconds=1), NOW, "minute", "window", "per-minute usage may span at most 7 days"),
], ids=["empty", "reversed", "over-a-year", "minutes-over-a-week"])
def test_usage_range_refuses(start, end, window, field, message) -> None:
    with pytest.raises(InvalidInput) as refused:
        usage_range(start, end, NOW, window)

    assert refused.value.message == message
    assert refused.value.code == "validation_error"
    assert [p.field for p in refused.value.problems] == [field]
    assert refused.value.problems[0].location == "query"


@pytest.mark.parametrize("span, window", [(timedelta(days=366), "day"), (timedelta(days=7), "minute"),
                                          (timedelta(days=30), "hour")], ids=["a-year", "a-week-of-minutes", "hours"])
def test_usage_range_accepts_spans_up_to_the_limits(span, window) -> None:
    assert usage_range(NOW - span, NOW, NOW, window) == (NOW - span, NOW)


# -- duplicates range -----------------------------------------------------------------------------

def test_duplicates_range_defaults_to_the_day_before_now() -> None:
    assert duplicates_range(None, None, NOW) == (NOW - timedelta(days=1), NOW)


def test_duplicates_range_refuses_naive_datetimes() -> None:
    with pytest.raises(InvalidInput) as refused:
        duplicates_range(datetime(2026, 3, 1), NOW, NOW)

    assert refused.value.problems == (FieldProblem("from/to", "naive datetime", "query"),)


# -- plan changes -----------------------------------------------------------------------------------

def test_a_plan_change_to_another_plan_in_the_same_currency_is_allowed() -> None:
    assert check_plan_change(_live(_plan("basic")), _plan("pro")) is None


@pytest.mark.parametrize("live, target, error, code", [
    (_live(_plan("pro")), _plan("pro"), Conflict, "same_plan"),
    (_live(_plan("basic"), canceled_at=NOW + timedelta(days=5)), _plan("pro"), Conflict, "cancel_scheduled"),
    (_live(_plan("basic", "USD")), _plan("pro", "EUR"), InvalidInput, None),
], ids=["same-plan", "cancellation-scheduled", "other-currency"])
def test_a_plan_change_is_refused(live, target, error, code) -> None:
    with pytest.raises(error) as refused:
        check_plan_change(live, target)

    assert refused.value.code == code


def test_a_currency_change_names_both_currencies_and_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_plan_change(_live(_plan("basic", "USD")), _plan("pro", "EUR"))

    assert refused.value.message == "plan 'pro' is in EUR, the current plan in USD"
    assert refused.value.problems == (FieldProblem("plan_slug", "currency differs from the current plan's"),)


# -- cancellations ----------------------------------------------------------------------------------

def test_cancelling_now_ends_at_now() -> None:
    assert cancellation_end(_live(_plan()), False, NOW) == NOW


def test_cancelling_now_also_ends_one_already_scheduled_to_end() -> None:
    assert cancellation_end(_live(_plan(), canceled_at=NOW + timedelta(days=3)), False, NOW) == NOW


def test_cancelling_at_period_end_ends_at_the_next_calendar_month_in_utc() -> None:
    assert cancellation_end(_live(_plan()), True, NOW) == datetime(2026, 4, 1, tzinfo=timezone.utc)


def test_cancelling_at_period_end_twice_is_a_conflict() -> None:
    with pytest.raises(Conflict) as refused:
        cancellation_end(_live(_plan(), canceled_at=datetime(2026, 4, 1, tzinfo=timezone.utc)), True, NOW)

    assert refused.value.code == "cancel_scheduled"
    assert refused.value.message == "the subscription is already cancelled: it ends at 2026-04-01T00:00:00+00:00"


# -- webhook secrets --------------------------------------------------------------------------------

@pytest.mark.parametrize("current, url, rotate, expected", [
    (None, "https://hooks.example/in", False, "fresh"),
    ("old", "https://hooks.example/in", False, "old"),
    ("old", "https://hooks.example/in", True, "fresh"),
    (None, None, False, None),
    ("old", None, True, "old"),
], ids=["first-url-gets-one", "kept", "rotated", "no-url-no-secret", "no-url-keeps-it"])
def test_webhook_secret_after_update(current, url, rotate, expected) -> None:
    assert webhook_secret_after_update(current, url, rotate, "fresh") == expected


# -- unbillable meters ------------------------------------------------------------------------------

@pytest.mark.parametrize("aggregation, expected", [("UNIQUE_COUNT", True), ("COUNT", False), ("SUM", False),
                                                   ("MAX", False), ("LATEST", False)])
def test_which_aggregations_could_be_unbillable(aggregation, expected) -> None:
    assert could_be_unbillable("m", aggregation) is expected


def test_a_plan_pricing_only_billable_meters_passes() -> None:
    assert refuse_unbillable(_plan(priced=("calls", "users")), {"calls": "COUNT", "users": "SUM"}) is None


def test_a_plan_pricing_unique_count_meters_is_refused_naming_each() -> None:
    with pytest.raises(InvalidInput) as refused:
        refuse_unbillable(_plan("pro", priced=("visitors", "calls", "users")),
                          {"visitors": "UNIQUE_COUNT", "calls": "COUNT", "users": "UNIQUE_COUNT"})

    assert refused.value.code == "meter_not_billable"
    assert refused.value.message == ("plan 'pro' prices the UNIQUE_COUNT meter 'users', 'visitors', "
                                     "which cannot be billed yet")
    assert [(p.field, p.reason.split(":")[0]) for p in refused.value.problems] == [
        ("plan_slug", "meter 'users'"), ("plan_slug", "meter 'visitors'")]


def test_a_new_unique_count_meter_the_live_plan_prices_is_refused_on_its_aggregation() -> None:
    with pytest.raises(InvalidInput) as refused:
        refuse_unbillable(_plan("pro", priced=("visitors",)), {"visitors": "UNIQUE_COUNT"}, new_meter="visitors")

    assert refused.value.message == "meter 'visitors' cannot be UNIQUE_COUNT: the live plan 'pro' prices it"
    assert [p.field for p in refused.value.problems] == ["aggregation"]


def test_a_new_unique_count_meter_the_plan_does_not_price_passes() -> None:
    assert refuse_unbillable(_plan(priced=("calls",)), {"visitors": "UNIQUE_COUNT"}, new_meter="visitors") is None


# -- migrated (backdated) subscriptions ------------------------------------------------------------

_HORIZON = timedelta(days=35)


def _ended(started_at: datetime, canceled_at: datetime | None) -> SubscriptionRecord:
    return SubscriptionRecord(uuid.uuid4(), uuid.uuid4(), _plan("old"), "canceled" if canceled_at else "active",
                              started_at, canceled_at)


def test_backdated_start_after_the_last_invoiced_period_is_allowed() -> None:
    check_backdated_start(datetime(2026, 3, 1, tzinfo=timezone.utc), NOW, _HORIZON, [],
                          invoiced_up_to=datetime(2026, 3, 1).date())


def test_backdated_start_in_an_invoiced_period_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_backdated_start(datetime(2026, 2, 28, 23, tzinfo=timezone.utc), NOW, _HORIZON, [],
                              invoiced_up_to=datetime(2026, 3, 1).date())

    assert refused.value.code == "period_invoiced" and refused.value.problems[0].field == "started_at"


@pytest.mark.parametrize("started_at, existing", [
    (NOW, []),
    (NOW - _HORIZON, []),
    (NOW - timedelta(days=10), [_ended(NOW - timedelta(days=30), NOW - timedelta(days=10))]),
    (NOW - timedelta(days=10), [_ended(NOW - timedelta(days=30), NOW - timedelta(days=20))]),
], ids=["now", "at-the-horizon", "where-the-last-ended", "after-the-last-ended"])
def test_backdated_start_allowed(started_at, existing) -> None:
    check_backdated_start(started_at, NOW, _HORIZON, existing)


@pytest.mark.parametrize("started_at, existing, code", [
    (NOW + timedelta(seconds=1), [], "started_in_future"),
    (NOW - _HORIZON - timedelta(seconds=1), [], "beyond_usage_horizon"),
    (NOW - timedelta(days=10), [_ended(NOW - timedelta(days=30), None)], "overlaps_subscription"),
    (NOW - timedelta(days=10), [_ended(NOW - timedelta(days=30), NOW - timedelta(days=9))], "overlaps_subscription"),
    (NOW - timedelta(days=10), [_ended(NOW - timedelta(days=5), NOW + timedelta(days=9))], "overlaps_subscription"),
], ids=["future", "beyond-horizon", "live-one", "ends-after-start", "starts-after"])
def test_backdated_start_refused(started_at, existing, code) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_backdated_start(started_at, NOW, _HORIZON, existing)

    assert refused.value.code == code
    assert [(p.field, p.location) for p in refused.value.problems] == [("started_at", "body")]
