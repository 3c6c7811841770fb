"""The abuse rules (api.abuse_policy): lockouts, quotas, verdicts, password strength. Pure."""

from __future__ import annotations

import pytest

from api.abuse_policy import lockout_seconds, password_problem, request_quotas, verdict


def test_no_lockout_below_the_threshold():
    assert [lockout_seconds(n, 10, 30, 3600) for n in range(10)] == [0] * 10


def test_lockout_doubles_with_each_failure_past_the_threshold_up_to_the_cap():
    assert [lockout_seconds(n, 10, 30, 3600) for n in range(10, 17)] == [30, 60, 120, 240, 480, 960, 1920]
    assert lockout_seconds(17, 10, 30, 3600) == 3600
    assert lockout_seconds(10_000, 10, 30, 3600) == 3600


def test_quota_by_plan_else_the_default_and_a_user_never_above_its_tenant():
    by_plan = {"starter": 100, "pro": 1000}
    assert request_quotas("pro", by_plan, 600, 300) == (1000, 300)
    assert request_quotas("starter", by_plan, 600, 300) == (100, 100)
    assert request_quotas("unknown", by_plan, 600, 300) == (600, 300)
    assert request_quotas(None, by_plan, 600, 300) == (600, 300)


def test_verdict_refuses_when_any_counter_is_over_and_waits_for_the_longest():
    assert verdict([(5, 5, 10.0), (1, 3, 50.0)]).allowed
    refused = verdict([(6, 5, 10.2), (4, 3, 50.5), (1, 9, 59.0)])
    assert (refused.allowed, refused.retry_after_s) == (False, 51)
    assert verdict([(2, 1, 0.01)]).retry_after_s == 1  # never "retry after 0"


@pytest.mark.parametrize("password", ["short", "password1234", "qwertyuiopas", "1234567890123", "acme-acme-acme"])
def test_short_common_or_guessable_passwords_are_refused(password):
    assert password_problem(password, ["acme", "owner@acme.example"], 10, 3) is not None



@pytest.mark.parametrize("password", ["correct horse battery", "vX9!tq#2mLp0", "tangerine-oboe-lantern-47", "the quiet tangerine oboe sings beneath forty seven lanterns on a cold winter morning by the sea"])
def test_long_uncommon_passwords_pass(password):
    # (the last is longer than zxcvbn accepts: it is judged on its first 72 characters)
    assert password_problem(password, ["acme"], 10, 3) is None


def test_the_reason_names_the_rule():
    assert "at least 10 characters" in password_problem("abc", [], 10, 3)
    assert "too weak" in password_problem("password1234", [], 10, 3)


def test_the_tenants_own_name_does_not_make_a_password():
    assert password_problem("acmecorporation", ["acmecorporation"], 10, 3) is not None
