"""The housekeeping rules (billing_jobs.housekeeping), without I/O: the cut-offs from the
policy, which refresh tokens, sessions and invitations may go, and the order of one pass."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from billing_jobs.housekeeping import (
    PruneCounts, RetentionPolicy, invitation_prunable, prune_expired, refresh_token_prunable, retention_cutoffs,
    session_prunable,
)
from meterline.bootstrap import retention_policy
from meterline.settings import HousekeepingSettings, Settings

NOW = datetime(2026, 12, 6, 4, 15, tzinfo=timezone.utc)
DAY = timedelta(days=1)
POLICY = RetentionPolicy(refresh_token_grace=7 * DAY, session_retention=30 * DAY, invitation_retention=30 * DAY)
CUTOFFS = retention_cutoffs(POLICY, NOW)


def ago(days: float) -> datetime:
    return NOW - days * DAY


def test_cutoffs_are_now_minus_each_retention():
    assert (CUTOFFS.used_tokens_expired_before, CUTOFFS.sessions_ended_before, CUTOFFS.invitations_ended_before) \
        == (ago(7), ago(30), ago(30))


def test_a_naive_now_or_a_negative_retention_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        retention_cutoffs(POLICY, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="session_retention must not be negative"):
        RetentionPolicy(refresh_token_grace=DAY, session_retention=-DAY, invitation_retention=DAY)


def test_the_settings_give_the_policy_in_days():
    policy = retention_policy(Settings(housekeeping=HousekeepingSettings(
        refresh_token_grace_days=2, session_retention_days=3, invitation_retention_days=4)))
    assert policy == RetentionPolicy(refresh_token_grace=2 * DAY, session_retention=3 * DAY,
                                     invitation_retention=4 * DAY)
    assert retention_policy(Settings()) == POLICY  # the defaults


@pytest.mark.parametrize(("used_at", "expires_at", "prunable"), [
    (None, ago(365), False),  # a session's latest token: it goes with its session
    (ago(1), NOW + 6 * DAY, False),  # used, not expired: reuse must still be detected
    (ago(8), ago(1), False),  # used, expired within the grace
    (ago(14), ago(7), False),  # expired exactly at the cut-off: kept
    (ago(15), ago(7) - timedelta(microseconds=1), True),
    (ago(60), ago(53), True),
], ids=["unused", "used-valid", "used-within-grace", "at-cutoff", "just-past", "long-ago"])
def test_refresh_tokens(used_at, expires_at, prunable):
    assert refresh_token_prunable(used_at, expires_at, CUTOFFS) is prunable


@pytest.mark.parametrize(("created_at", "revoked_at", "expiries", "prunable"), [
    (ago(90), None, [ago(80), NOW + DAY], False),  # still has a valid token
    (ago(90), None, [ago(80), ago(31)], True),  # every token expired before the cut-off
    (ago(90), None, [ago(80), ago(29)], False),  # its last token expired within the retention
    (ago(90), ago(31), [NOW + DAY], True),  # revoked long ago, whatever its tokens
    (ago(90), ago(29), [ago(80)], True),  # revoked lately, but over since its tokens expired
    (ago(40), ago(1), [NOW + DAY], False),  # revoked lately (logout)
    (ago(10), None, [], False),  # no token left, but younger than the retention
    (ago(31), None, [], True),
], ids=["live", "expired-long-ago", "expired-lately", "revoked-long-ago", "revoked-lately-expired-long-ago",
        "revoked-lately", "young-without-tokens", "old-without-tokens"])
def test_sessions(created_at, revoked_at, expiries, prunable):
    assert session_prunable(created_at, revoked_at, expiries, CUTOFFS) is prunable


@pytest.mark.parametrize(("accepted_at", "revoked_at", "expires_at", "prunable"), [
    (None, None, NOW + 2 * DAY, False),  # pending
    (None, None, ago(1), False),  # expired lately: its preview still answers 410
    (None, None, ago(31), True),
    (ago(31), None, NOW + 2 * DAY, True),  # accepted long ago (expiry still ahead is irrelevant)
    (ago(29), None, NOW + 2 * DAY, False),
    (None, ago(31), NOW + 2 * DAY, True),  # withdrawn long ago
    (None, ago(2), NOW + DAY, False),
], ids=["pending", "expired-lately", "expired-long-ago", "accepted-long-ago", "accepted-lately",
        "withdrawn-long-ago", "withdrawn-lately"])
def test_invitations(accepted_at, revoked_at, expires_at, prunable):
    assert invitation_prunable(accepted_at, revoked_at, expires_at, CUTOFFS) is prunable


class RecordingStore:
    """The port, recording the cut-offs it is given and in which order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []

    def prune_used_refresh_tokens(self, expired_before: datetime) -> int:
        self.calls.append(("tokens", expired_before))
        return 5

    def prune_ended_sessions(self, ended_before: datetime) -> int:
        self.calls.append(("sessions", ended_before))
        return 2

    def prune_ended_invitations(self, ended_before: datetime) -> int:
        self.calls.append(("invitations", ended_before))
        return 1


def test_one_pass_prunes_each_kind_at_its_cutoff_tokens_first():
    store = RecordingStore()
    counts = prune_expired(store=store, policy=POLICY, now=NOW)
    assert store.calls == [("tokens", ago(7)), ("sessions", ago(30)), ("invitations", ago(30))]
    assert counts == PruneCounts(refresh_tokens=5, sessions=2, invitations=1)
    assert counts.as_dict() == {"refresh_tokens": 5, "sessions": 2, "invitations": 1}
