"""Check one tenant's usage against its plan's limits, as of `now`.

The decisions are `limits.due_alerts` / `limits.blocked_meters`; this module
only gathers their inputs from the store and hands the result back to it, in
one `record` call so that an alert, its messages and the block are written
together or not at all. Running it again in the same period records nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

from .alert_messages import limit_alert_notifications
from .invoicing import billing_period
from .limits import DEFAULT_THRESHOLDS, LimitAlert, applied_thresholds, blocked_meters, due_alerts
from .ports import LimitStore, LimitSubject
from .segments import period_bounds

__all__ = ["LimitCheck", "check_tenant_limits", "usage_window"]


@dataclass(frozen=True, slots=True)
class LimitCheck:
    tenant_id: str
    new_alerts: list[LimitAlert]
    blocked: list[str]


def usage_window(subject_started_at: datetime, now: datetime) -> tuple[date, date, datetime, datetime]:
    """(period start, period end, usage from, usage to) for limits as of `now`.

    Usage counts from the later of the period's start and the hour the current
    subscription started in: after a plan change the new plan's limits apply to
    what was used under it (the hour it starts in is billed under it too).
    """
    period_start, period_end = billing_period(now)
    started_hour = subject_started_at.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    lower, upper = period_bounds(period_start, period_end)
    return period_start, period_end, max(lower, started_hour), upper


def check_tenant_limits(*, store: LimitStore, subject: LimitSubject, now: datetime,
                        thresholds: Sequence[int] = DEFAULT_THRESHOLDS) -> LimitCheck:
    """`thresholds` is the platform's default; a tenant that chose its own (subject.thresholds) gets those.

    Alerts already recorded at a threshold the tenant has since dropped stay recorded; a
    threshold added mid-period alerts at the next check if usage is already past it."""
    plan = subject.plan
    if not plan.limits:
        return LimitCheck(subject.tenant_id, [], [])
    period_start, period_end, since, until = usage_window(subject.started_at, now)
    usage = store.usage(subject.tenant_id, since, until)
    alerts = due_alerts(plan, usage, store.recorded_alerts(subject.tenant_id, period_start),
                        applied_thresholds(subject.thresholds, thresholds))
    blocked = blocked_meters(plan, usage)
    if not alerts and not blocked:
        return LimitCheck(subject.tenant_id, [], [])
    email, webhook_url = store.targets(subject.tenant_id)
    messages = {alert: limit_alert_notifications(
        tenant_id=subject.tenant_id, tenant_slug=subject.tenant_slug, alert=alert, period_start=period_start,
        period_end=period_end, email=email, webhook_url=webhook_url, now=now) for alert in alerts}
    recorded = store.record(subject.tenant_id, period_start, period_end, plan.slug, alerts, messages, blocked)
    return LimitCheck(subject.tenant_id, recorded, blocked)
