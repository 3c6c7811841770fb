"""Usage limits: which alerts are due and which meters are blocked. Pure.

Thresholds are percentages of each plan limit (80 and 100 by default; a tenant
may choose its own, within `threshold_problems`' rules). An
alert is due once per (meter, limit kind, threshold) per period: the caller
passes the alerts already recorded for the period and gets only new ones.
A hard limit reached (usage >= limit) blocks the meter until the period ends
or the plan changes (the block is recorded with the plan it was reached on).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from .money import to_decimal
from .plans import Plan

__all__ = ["DEFAULT_THRESHOLDS", "MIN_THRESHOLD_PERCENT", "MAX_THRESHOLD_PERCENT", "MAX_THRESHOLDS", "LimitAlert",
           "blocked_meters", "due_alerts", "threshold_problems", "applied_thresholds"]

DEFAULT_THRESHOLDS: tuple[int, ...] = (80, 100)
# Above 100% a soft limit can still warn of an overrun (say 150%); past 10x a limit is no
# longer what the plan means. Ten steps are more than anyone reads as distinct alerts.
MIN_THRESHOLD_PERCENT = 1
MAX_THRESHOLD_PERCENT = 1000
MAX_THRESHOLDS = 10


def threshold_problems(percents: Sequence[object]) -> list[tuple[int | None, str]]:
    """What is wrong with a tenant's chosen thresholds, as (index or None for the whole list,
    reason); empty when they may be stored. Booleans are not numbers here."""
    if not percents:
        return [(None, "give at least one threshold")]
    problems: list[tuple[int | None, str]] = []
    if len(percents) > MAX_THRESHOLDS:
        problems.append((None, f"at most {MAX_THRESHOLDS} thresholds"))
    seen: dict[int, int] = {}
    for index, value in enumerate(percents):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append((index, "must be a whole number of percent"))
        elif not MIN_THRESHOLD_PERCENT <= value <= MAX_THRESHOLD_PERCENT:
            problems.append((index, f"must be between {MIN_THRESHOLD_PERCENT} and {MAX_THRESHOLD_PERCENT} percent"))
        elif value in seen:
            problems.append((index, f"{value} is already at position {seen[value]}"))
        else:
            seen[value] = index
    return problems


def applied_thresholds(chosen: Sequence[int] | None, default: Sequence[int]) -> tuple[int, ...]:
    """The thresholds a check uses, ascending: the tenant's own when it chose any, else the default."""
    return tuple(sorted(set(chosen if chosen else default)))


@dataclass(frozen=True, slots=True)
class LimitAlert:
    meter_slug: str
    kind: Literal["soft", "hard"]
    threshold_percent: int
    quantity: Decimal
    limit_quantity: Decimal


def due_alerts(plan: Plan, usage: Mapping[str, Decimal], already: Collection[tuple[str, str, int]],
               thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> list[LimitAlert]:
    """New alerts: usage reached threshold% of a limit and (meter, kind, threshold) is not in `already`.

    A threshold crossed together with a higher one is still alerted (80 and
    100 both), so every recorded step of the period is explained.
    """
    if any(t <= 0 for t in thresholds):
        raise ValueError("thresholds are positive percentages")
    alerts: list[LimitAlert] = []
    for limit in plan.limits:
        used = to_decimal(usage.get(limit.meter_slug, Decimal(0)))
        for threshold in sorted(set(thresholds)):
            if (limit.meter_slug, limit.kind, threshold) in already:
                continue
            if used * 100 >= limit.quantity * threshold:
                alerts.append(LimitAlert(limit.meter_slug, limit.kind, threshold, used, limit.quantity))
    return alerts


def blocked_meters(plan: Plan, usage: Mapping[str, Decimal]) -> list[str]:
    """Meters whose hard limit the period's usage has reached: ingest answers 429 for them."""
    return sorted(limit.meter_slug for limit in plan.limits
                  if limit.kind == "hard" and to_decimal(usage.get(limit.meter_slug, Decimal(0))) >= limit.quantity)
