"""What signing in leaves behind, and when it may go: refresh tokens, sessions, invitations.

A silent refresh stores a refresh token every few minutes per signed-in user, so without
pruning `refresh_token` grows without bound. The rules, each relative to `now`:

- A **used** refresh token goes once it expired more than `refresh_token_grace` ago. Never
  before its expiry: presenting a used token again is how a stolen copy is detected (the
  whole session is revoked, api/sessions/rules.py), and that must keep working while the
  token could otherwise have been valid.
- An **unused** refresh token is never pruned on its own: a session has at most one (its
  latest; rotation uses up the one before), and its expiry is when the session ended. It
  goes with its session, so a session's end stays known until the session's retention.
- A **session** goes once it ended more than `session_retention` ago: revoked then, or
  every token of it expired then. Its tokens go with it (ON DELETE CASCADE).
- An **invitation** goes once it ended more than `invitation_retention` ago: accepted,
  withdrawn or expired then. While it is kept its preview answers 410 (used, withdrawn,
  expired); once pruned, 404 like any unknown token.

The audit log is a record and is never pruned here.

No I/O and no clock: callers pass the policy (from settings) and `now`. The SQL of
warehouse/postgres/housekeeping.py applies the same predicates, in batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["RetentionPolicy", "RetentionCutoffs", "PruneCounts", "HousekeepingStore", "retention_cutoffs",
           "refresh_token_prunable", "session_prunable", "invitation_prunable", "prune_expired"]


@dataclass(frozen=True)
class RetentionPolicy:
    refresh_token_grace: timedelta  # after a used token's expiry
    session_retention: timedelta  # after a session's end
    invitation_retention: timedelta  # after an invitation's end

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < timedelta(0):
                raise ValueError(f"{name} must not be negative, got {value}")


@dataclass(frozen=True)
class RetentionCutoffs:
    """Rows that ended strictly before these instants may be deleted."""

    used_tokens_expired_before: datetime
    sessions_ended_before: datetime
    invitations_ended_before: datetime


@dataclass(frozen=True)
class PruneCounts:
    refresh_tokens: int  # used tokens pruned on their own (not those that went with a session)
    sessions: int
    invitations: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class HousekeepingStore(Protocol):
    """Deletes what the cut-offs allow, in bounded batches; each returns how many rows went."""

    def prune_used_refresh_tokens(self, expired_before: datetime) -> int: ...

    def prune_ended_sessions(self, ended_before: datetime) -> int: ...

    def prune_ended_invitations(self, ended_before: datetime) -> int: ...


def retention_cutoffs(policy: RetentionPolicy, now: datetime) -> RetentionCutoffs:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")  # compared with timestamptz columns
    return RetentionCutoffs(used_tokens_expired_before=now - policy.refresh_token_grace,
                            sessions_ended_before=now - policy.session_retention,
                            invitations_ended_before=now - policy.invitation_retention)


def refresh_token_prunable(used_at: datetime | None, expires_at: datetime, cutoffs: RetentionCutoffs) -> bool:
    return used_at is not None and expires_at < cutoffs.used_tokens_expired_before


def session_prunable(created_at: datetime, revoked_at: datetime | None, token_expiries: Iterable[datetime],
                     cutoffs: RetentionCutoffs) -> bool:
    """Ended before the cut-off: revoked then, or no token of it valid at or after it. A
    session is opened with its first token in one transaction, so one without any token
    left is only ever one whose tokens were pruned; `created_at` guards it anyway."""
    before = cutoffs.sessions_ended_before
    if created_at >= before:
        return False
    revoked_long_ago = revoked_at is not None and revoked_at < before
    return revoked_long_ago or all(expiry < before for expiry in token_expiries)


def invitation_prunable(accepted_at: datetime | None, revoked_at: datetime | None, expires_at: datetime,
                        cutoffs: RetentionCutoffs) -> bool:
    """Any of its ends before the cut-off means it was over by then (a pending one has none)."""
    before = cutoffs.invitations_ended_before
    return any(end is not None and end < before for end in (accepted_at, revoked_at, expires_at))


def prune_expired(store: HousekeepingStore, policy: RetentionPolicy, now: datetime) -> PruneCounts:
    """One pass; running it again as of the same `now` deletes nothing more."""
    cutoffs = retention_cutoffs(policy, now)
    # Used tokens first: a long-lived session sheds its old tokens without being touched.
    tokens = store.prune_used_refresh_tokens(cutoffs.used_tokens_expired_before)
    sessions = store.prune_ended_sessions(cutoffs.sessions_ended_before)
    invitations = store.prune_ended_invitations(cutoffs.invitations_ended_before)
    return PruneCounts(refresh_tokens=tokens, sessions=sessions, invitations=invitations)
