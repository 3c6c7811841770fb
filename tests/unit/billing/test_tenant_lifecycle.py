"""The tenant lifecycle's transitions (billing_jobs.lifecycle), table-driven, without I/O."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from billing_jobs.lifecycle import (
    LifecycleRefused, TenantState, cancel_deletion, purge_due, resume, schedule_deletion, suspend,
)

NOW = datetime(2026, 12, 6, 12, tzinfo=timezone.utc)
GRACE, MAX_AGE = timedelta(days=7), timedelta(hours=24)
ACTIVE = TenantState("active")
BY_OPERATOR = TenantState("suspended", "operator", "abuse")
BY_DUNNING = TenantState("suspended", "dunning", "invoice X is unpaid")
EXPORTED = TenantState("active", export_taken_at=NOW - timedelta(hours=1))
DELETING = schedule_deletion(EXPORTED, NOW, GRACE, MAX_AGE)


@pytest.mark.parametrize(("state", "by", "reason", "expected"), [
    (ACTIVE, "operator", "abuse", BY_OPERATOR),
    (ACTIVE, "dunning", "invoice X is unpaid", BY_DUNNING),
    (BY_OPERATOR, "dunning", "invoice Y is unpaid", BY_OPERATOR),
    (BY_OPERATOR, "operator", "fraud", TenantState("suspended", "operator", "fraud")),
    (BY_DUNNING, "operator", "abuse", BY_OPERATOR),
    (BY_DUNNING, "dunning", "invoice Y is unpaid", BY_DUNNING),
], ids=["operator", "dunning", "dunning-keeps-operators", "operator-new-reason", "operator-takes-over",
        "dunning-again"])
def test_suspend(state, by, reason, expected):
    assert suspend(state, by, reason) == expected


@pytest.mark.parametrize(("state", "by", "expected"), [
    (BY_OPERATOR, "operator", ACTIVE),
    (BY_DUNNING, "operator", ACTIVE),
    (BY_DUNNING, "dunning", ACTIVE),
    (BY_OPERATOR, "dunning", BY_OPERATOR),
], ids=["operator", "operator-lifts-dunnings", "dunning", "dunning-leaves-operators"])
def test_resume(state, by, expected):
    assert resume(state, by) == expected


def test_resume_of_a_tenant_not_suspended_is_refused():
    with pytest.raises(LifecycleRefused) as refused:
        resume(ACTIVE, "operator")
    assert refused.value.code == "not_suspended"


def test_deletion_needs_a_recent_export_and_starts_the_grace_period():
    assert (DELETING.status, DELETING.deletion_requested_at, DELETING.purge_after) == ("deleting", NOW, NOW + GRACE)
    for state in (ACTIVE, TenantState("active", export_taken_at=NOW - MAX_AGE - timedelta(seconds=1))):
        with pytest.raises(LifecycleRefused) as refused:
            schedule_deletion(state, NOW, GRACE, MAX_AGE)
        assert refused.value.code == "export_required"
    with pytest.raises(LifecycleRefused) as refused:
        schedule_deletion(DELETING, NOW, GRACE, MAX_AGE)
    assert refused.value.code == "deletion_scheduled"


def test_a_suspended_tenant_may_be_deleted_and_a_cancel_restores_the_suspension():
    suspended = TenantState("suspended", "dunning", "invoice X is unpaid", export_taken_at=NOW)
    deleting = schedule_deletion(suspended, NOW, GRACE, MAX_AGE)
    assert deleting.status == "deleting" and deleting.suspended_by == "dunning"
    restored = cancel_deletion(deleting, NOW + timedelta(days=1))
    assert (restored.status, restored.suspended_by, restored.purge_after) == ("suspended", "dunning", None)


def test_cancel_within_the_grace_period_only():
    assert cancel_deletion(DELETING, NOW + GRACE - timedelta(seconds=1)).status == "active"
    for state, at, code in [(DELETING, NOW + GRACE, "grace_period_over"), (ACTIVE, NOW, "no_deletion_scheduled")]:
        with pytest.raises(LifecycleRefused) as refused:
            cancel_deletion(state, at)
        assert refused.value.code == code


@pytest.mark.parametrize(("state", "at", "due"), [
    (DELETING, NOW + GRACE, True),
    (DELETING, NOW + GRACE - timedelta(seconds=1), False),
    (BY_OPERATOR, NOW + GRACE, False),
    (ACTIVE, NOW + GRACE, False),
], ids=["at-the-end", "just-before", "suspended", "active"])
def test_purge_due(state, at, due):
    assert purge_due(state, at) is due


def test_dunning_suspension_during_the_grace_period_keeps_the_deletion():
    assert suspend(DELETING, "dunning", "invoice Z is unpaid").status == "deleting"
    assert resume(suspend(DELETING, "dunning", "r"), "dunning").status == "deleting"
