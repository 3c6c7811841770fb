"""The abuse rules as pure functions: lockouts, quotas and password strength. No I/O.

The services count (in PostgreSQL, shared by replicas) and ask these what the counts mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from zxcvbn import zxcvbn

__all__ = ["lockout_seconds", "request_quotas", "Verdict", "verdict", "password_problem",
           "ZXCVBN_MAX_LENGTH"]

# zxcvbn refuses longer input (its matching is quadratic); what lies beyond adds strength anyway.
ZXCVBN_MAX_LENGTH = 72


def lockout_seconds(failures: int, threshold: int, initial_s: int, max_s: int) -> int:
    """How long `failures` recent failures lock the key out: none below `threshold`, then
    `initial_s`, doubled by every further failure, never more than `max_s`."""
    if failures < threshold:
        return 0
    doublings = min(failures - threshold, 32)  # 2**32 * initial is past any sane cap
    return min(initial_s * 2 ** doublings, max_s)


def request_quotas(plan_slug: str | None, by_plan: Mapping[str, int], default: int,
                   per_user: int) -> tuple[int, int]:
    """(tenant quota, user quota) per window: the tenant's by its plan, a user's never above it."""
    tenant_quota = by_plan.get(plan_slug, default) if plan_slug is not None else default
    return tenant_quota, min(per_user, tenant_quota)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int  # whole seconds, at least 1 when refused


def verdict(counts: Iterable[tuple[int, int, float]]) -> Verdict:
    """From (hits, limit, seconds left in the window) per counter: refused when any is over."""
    waits = [seconds_left for hits, limit, seconds_left in counts if hits > limit]
    if not waits:
        return Verdict(True, 0)
    return Verdict(False, max(1, math.ceil(max(waits))))


def password_problem(password: str, user_inputs: list[str], min_length: int, min_score: int) -> str | None:
    """Why `password` is too weak (None if it is not): too short, or easy to guess (common
    passwords, words, keyboard runs, dates, the user's own name or email: zxcvbn)."""
    if len(password) < min_length:
        return f"must be at least {min_length} characters"
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=[part for part in user_inputs if part])
    if result["score"] < min_score:
        warning = result["feedback"].get("warning") or "it is easy to guess"
        return f"too weak: {warning.rstrip('.')}; use a longer passphrase of uncommon words"
    return None
