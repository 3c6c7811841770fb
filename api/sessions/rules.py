"""What presenting a refresh token means (pure: the stored state and the time in, a verdict out).

A refresh token is single use. Presenting one that was already used means two parties
hold it (the client and a thief, and we cannot tell which is which), so the whole
session - every token rotated from the same login - ends.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

__all__ = ["RefreshVerdict", "refresh_verdict"]


class RefreshVerdict(StrEnum):
    ROTATE = "rotate"  # valid: mark it used, issue the next one of the family
    REUSED = "reused"  # used before: revoke the family
    EXPIRED = "expired"
    REVOKED = "revoked"  # its session ended (logout, password change, reuse)
    UNKNOWN = "unknown"


def refresh_verdict(found: bool, used_at: datetime | None, expires_at: datetime | None,
                    session_revoked_at: datetime | None, now: datetime) -> RefreshVerdict:
    if not found:
        return RefreshVerdict.UNKNOWN
    if session_revoked_at is not None:
        return RefreshVerdict.REVOKED
    if used_at is not None:
        # Checked before expiry: a used token presented late is still a stolen copy.
        return RefreshVerdict.REUSED
    if expires_at is None or expires_at <= now:
        return RefreshVerdict.EXPIRED
    return RefreshVerdict.ROTATE
