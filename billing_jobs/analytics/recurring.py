"""Recurring figures from subscription spans: MRR and its movements, ARR, active subscriptions,
churn rate and ARPU, per UTC month. Pure. docs/analytics.md defines each figure.

A span is one subscription row: a tenant on one plan from `started_at` until `ended_at`
(None: open-ended). A plan change ends one span and starts the next at the same instant;
that meeting point is what tells a change from a cancellation.

A month's figures are read at its close: what is in force just before `min(month end, now)`,
i.e. started before that instant and not ended before it. The current month therefore
reads "so far, as of now"; a month that has not begun has no figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from ..money import currency_exponent
from ..plans import Plan
from .months import Month

__all__ = ["ArpuMonth", "ChurnMonth", "MrrMonth", "SubscriptionMonth", "SubscriptionSpan", "arpu_by_month",
           "churn_by_month", "closing_instant", "monthly_recurring_amount", "mrr_by_month", "subscriptions_by_month"]

# Months per billing interval: the recurring fee is divided by it to read per month.
# Plans only bill monthly today (billing_jobs.plans.Plan.interval); a new interval must be
# added here before it can be counted, rather than counted wrongly.
_MONTHS_PER_INTERVAL = {"month": 1}
# Churn rates are fractions, rounded for reading; the counts beside them are exact.
_RATE_PLACES = Decimal("0.0001")


def monthly_recurring_amount(plan: Plan) -> Decimal:
    """The plan's recurring (flat) fee per month. Usage charges and minimums are not recurring
    revenue: they depend on usage, so they count in revenue (invoices), never in MRR."""
    try:
        months = _MONTHS_PER_INTERVAL[plan.interval]
    except KeyError:
        raise ValueError(f"plan '{plan.slug}': no monthly normalisation for interval {plan.interval!r}") from None
    return plan.flat_fee / months


@dataclass(frozen=True)
class SubscriptionSpan:
    tenant_id: str
    plan_slug: str
    currency: str
    monthly_amount: Decimal  # monthly_recurring_amount(plan)
    started_at: datetime
    ended_at: datetime | None = None

    def in_force_at(self, instant: datetime) -> bool:
        """In force just before `instant`: started before it, not ended before it."""
        return self.started_at < instant and (self.ended_at is None or self.ended_at >= instant)


def closing_instant(month: Month, now: datetime) -> datetime:
    """The instant a month's figures are read at: its end, or `now` for the month under way."""
    if month.start >= now:
        raise ValueError(f"{month} has not begun at {now.isoformat()}")
    return min(month.end, now)


def _in_force(spans: Iterable[SubscriptionSpan], instant: datetime) -> list[SubscriptionSpan]:
    return [span for span in spans if span.in_force_at(instant)]


def _mrr_at(spans: Sequence[SubscriptionSpan], instant: datetime) -> dict[tuple[str, str], Decimal]:
    """MRR per (tenant, currency) in force at `instant`; tenants at zero are left out."""
    mrr: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for span in _in_force(spans, instant):
        mrr[(span.tenant_id, span.currency)] += span.monthly_amount
    return {key: amount for key, amount in mrr.items() if amount > 0}


@dataclass(frozen=True)
class MrrMonth:
    """starting_mrr + new + expansion + reactivation - contraction - churn = mrr."""

    month: Month
    currency: str
    starting_mrr: Decimal
    new: Decimal
    expansion: Decimal
    contraction: Decimal
    churn: Decimal
    reactivation: Decimal
    mrr: Decimal
    paying_tenants: int

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12


def _movements(before: dict[tuple[str, str], Decimal], after: dict[tuple[str, str], Decimal],
               paid_before: set[tuple[str, str]]) -> dict[str, dict[str, Decimal]]:
    """Per currency, each tenant's change of MRR between two closes, sorted into movements."""
    moves: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for key in before.keys() | after.keys():
        old, new = before.get(key, Decimal(0)), after.get(key, Decimal(0))
        bucket = moves[key[1]]
        if old == 0:
            bucket["reactivation" if key in paid_before else "new"] += new
        elif new == 0:
            bucket["churn"] += old
        elif new > old:
            bucket["expansion"] += new - old
        elif new < old:
            bucket["contraction"] += old - new
    return moves


def mrr_by_month(spans: Sequence[SubscriptionSpan], months: Sequence[Month], now: datetime) -> list[MrrMonth]:
    """MRR at each month's close, per currency, with the movements from the previous close.

    A tenant at zero before and paying after is new, or a reactivation if it paid in that
    currency at any time before the month began. Every currency any span is priced in has
    a row in every month, zeros included, so series line up."""
    currencies = sorted({span.currency for span in spans if span.monthly_amount > 0})
    rows: list[MrrMonth] = []
    for month in months:
        before = _mrr_at(spans, month.start)
        after = _mrr_at(spans, closing_instant(month, now))
        paid_before = {(s.tenant_id, s.currency) for s in spans if s.monthly_amount > 0 and s.started_at < month.start}
        moves = _movements(before, after, paid_before)
        for currency in currencies:
            move = moves.get(currency, {})
            rows.append(MrrMonth(
                month=month, currency=currency,
                starting_mrr=sum((v for (_, c), v in before.items() if c == currency), Decimal(0)),
                new=move.get("new", Decimal(0)), expansion=move.get("expansion", Decimal(0)),
                contraction=move.get("contraction", Decimal(0)), churn=move.get("churn", Decimal(0)),
                reactivation=move.get("reactivation", Decimal(0)),
                mrr=sum((v for (_, c), v in after.items() if c == currency), Decimal(0)),
                paying_tenants=sum(1 for (_, c) in after if c == currency)))
    return rows


@dataclass(frozen=True)
class ArpuMonth:
    month: Month
    currency: str
    mrr: Decimal
    paying_tenants: int
    arpu: Decimal | None  # None: nobody paying in that currency at the close


def arpu_by_month(mrr_months: Iterable[MrrMonth]) -> list[ArpuMonth]:
    """MRR per paying tenant at each close, rounded once (ROUND_HALF_UP) to the minor unit."""
    rows = []
    for row in mrr_months:
        arpu = None
        if row.paying_tenants:
            unit = Decimal(1).scaleb(-currency_exponent(row.currency))
            arpu = (row.mrr / row.paying_tenants).quantize(unit, rounding=ROUND_HALF_UP)
        rows.append(ArpuMonth(row.month, row.currency, row.mrr, row.paying_tenants, arpu))
    return rows


def _meeting_points(spans: Sequence[SubscriptionSpan]) -> tuple[set[tuple[str, datetime]], set[tuple[str, datetime]]]:
    starts = {(s.tenant_id, s.started_at) for s in spans}
    ends = {(s.tenant_id, s.ended_at) for s in spans if s.ended_at is not None}
    return starts, ends


def _cancellations(spans: Sequence[SubscriptionSpan], start: datetime, end: datetime) -> int:
    """Spans ending in [start, end) that no span of the same tenant continues (not plan changes)."""
    starts, _ = _meeting_points(spans)
    return sum(1 for s in spans if s.ended_at is not None and start <= s.ended_at < end
               and (s.tenant_id, s.ended_at) not in starts)


def _subscribed(spans: Sequence[SubscriptionSpan], start: datetime, end: datetime) -> int:
    """Spans starting in [start, end) that continue no span of the same tenant (not plan changes)."""
    _, ends = _meeting_points(spans)
    return sum(1 for s in spans if start <= s.started_at < end and (s.tenant_id, s.started_at) not in ends)


def _active_tenants(spans: Sequence[SubscriptionSpan], instant: datetime) -> int:
    return len({span.tenant_id for span in _in_force(spans, instant)})


@dataclass(frozen=True)
class SubscriptionMonth:
    """active_at_start + started - canceled = active_at_end."""

    month: Month
    active_at_start: int
    started: int
    canceled: int
    active_at_end: int


def subscriptions_by_month(spans: Sequence[SubscriptionSpan], months: Sequence[Month],
                           now: datetime) -> list[SubscriptionMonth]:
    """Subscriptions in force (free plans included) at each month's start and close, and the
    subscriptions started and cancelled between: a plan change is neither."""
    rows = []
    for month in months:
        close = closing_instant(month, now)
        rows.append(SubscriptionMonth(month, _active_tenants(spans, month.start),
                                      _subscribed(spans, month.start, close), _cancellations(spans, month.start, close),
                                      _active_tenants(spans, close)))
    return rows


@dataclass(frozen=True)
class ChurnMonth:
    month: Month
    active_at_start: int
    cancellations: int
    rate: Decimal | None  # cancellations / active_at_start; None when nothing was active


def churn_by_month(spans: Sequence[SubscriptionSpan], months: Sequence[Month], now: datetime) -> list[ChurnMonth]:
    """Cancellations in the month ÷ subscriptions in force at its start (the issue's formula,
    as is: a subscription started and cancelled within the month counts above the line only,
    so a small base can exceed 1)."""
    rows = []
    for month in subscriptions_by_month(spans, months, now):
        rate = None
        if month.active_at_start:
            rate = (Decimal(month.canceled) / month.active_at_start).quantize(_RATE_PLACES, rounding=ROUND_HALF_UP)
        rows.append(ChurnMonth(month.month, month.active_at_start, month.canceled, rate))
    return rows
