"""Usage limits: which alerts are due and which meters are blocked. Pure.

Thresholds are percentages of each plan limit (80 and 100 by default). An
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

__all__ = ["DEFAULT_THRESHOLDS", "LimitAlert", "blocked_meters", "due_alerts"]

DEFAULT_THRESHOLDS: tuple[int, ...] = (80, 100)


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
