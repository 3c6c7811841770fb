"""The period guard: a period's invoice is generated only after the period has closed.

Invoicing an open period bills usage that is still arriving and a flat fee for days
not yet served; a future period bills nothing but the fee. So an invoice run asks
here first, per tenant. Two exceptions bill a period before it closes:

- the tenant's subscriptions all ended early (cancel now): its final invoice is due
  now, and no more usage or fee can accrue in the period;
- an operator's explicit "close now", which names who and why, so that the run report
  (and the audit log) shows it.

A future period is refused either way: nothing of it has happened yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timezone

from pydantic import BaseModel, ConfigDict, Field

from .errors import PermanentError
from .segments import SubscriptionSpan

__all__ = ["CloseNow", "PeriodNotClosedError", "check_period", "ended_early", "not_started",
           "period_refusal", "run_period_refusal"]


class CloseNow(BaseModel):
    """An operator's explicit order to invoice an open period now; both fields required."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    operator: str = Field(min_length=1, max_length=200, description="who closes the period (email or name)")
    reason: str = Field(min_length=1, max_length=1000, description="why it is invoiced before it closes")


class PeriodNotClosedError(PermanentError):
    """Asked to invoice a period that has not closed, with none of the exceptions."""


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _label(period_start: date) -> str:
    return f"{period_start:%Y-%m}"


def not_started(period_start: date, now: datetime) -> bool:
    """A future period: refused for every tenant, close now or not."""
    return now < _start_of(period_start)


def ended_early(spans: Sequence[SubscriptionSpan], now: datetime) -> bool:
    """Every subscription of the tenant in the period has ended by `now` (cancelled at once)."""
    return bool(spans) and all(s.ended_at is not None and s.ended_at <= now for s in spans)


def run_period_refusal(period_start: date, period_end: date, now: datetime,
                       close_now: CloseNow | None = None) -> str | None:
    """Why a run for the whole period is refused (None: it may run for every tenant).

    An open period without close_now is refused for the run as a whole; a run may still
    bill the tenants whose subscriptions ended early (`period_refusal` per tenant)."""
    if not_started(period_start, now):
        return (f"period {_label(period_start)} has not started (it opens {period_start.isoformat()}); "
                f"a period is invoiced after it closes")
    if now < _start_of(period_end) and close_now is None:
        return (f"period {_label(period_start)} is open until {period_end.isoformat()} 00:00 UTC; it is invoiced "
                f"after it closes, or now by an operator's close now (operator and reason)")
    return None


def period_refusal(period_start: date, period_end: date, now: datetime, *,
                   spans: Sequence[SubscriptionSpan] = (), close_now: CloseNow | None = None) -> str | None:
    """Why this tenant's invoice for the period is refused now, or None if it may be issued."""
    refusal = run_period_refusal(period_start, period_end, now, close_now)
    if refusal is None or not_started(period_start, now):
        return refusal
    if ended_early(spans, now):
        return None
    return refusal


def check_period(period_start: date, period_end: date, now: datetime, *,
                 spans: Sequence[SubscriptionSpan] = (), close_now: CloseNow | None = None) -> None:
    """Raise PeriodNotClosedError with the reason when `period_refusal` refuses."""
    refusal = period_refusal(period_start, period_end, now, spans=spans, close_now=close_now)
    if refusal is not None:
        raise PeriodNotClosedError(refusal)
