"""What every analytics request carries: the instant it reads at (one clock read per request,
overridable in tests) and the months and tenants it covers, checked against that instant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query

from billing_jobs.analytics import Month, month_range, parse_month

from ..auth import utcnow
from ..domain_errors import FieldProblem, InvalidInput

__all__ = ["Now", "MonthRange", "MonthRangeDep", "get_now", "month_range_of", "MAX_MONTHS"]

# A bound on the work one request can ask for: every figure walks each month.
MAX_MONTHS = 120
_MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def get_now() -> datetime:
    return utcnow()


Now = Annotated[datetime, Depends(get_now)]


@dataclass(frozen=True)
class MonthRange:
    months: list[Month]
    tenant_ids: list[uuid.UUID] | None  # None: every tenant
    now: datetime

    @property
    def first(self) -> Month:
        return self.months[0]

    @property
    def last(self) -> Month:
        return self.months[-1]


def _problem(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"invalid request: {field}: {reason}", problems=[FieldProblem(field, reason, "query")])


def month_range_of(first_text: str, last_text: str, now: datetime) -> list[Month]:
    """The months from `first_text` to `last_text` (YYYY-MM, both included), none after `now`'s."""
    try:
        first, last = parse_month(first_text), parse_month(last_text)
    except ValueError as exc:
        raise _problem("from", str(exc)) from exc
    if last < first:
        raise _problem("to", f"{last} is before from ({first})")
    if last > Month.of(now):
        # A month that has not begun has no figures; the month under way reads as of now.
        raise _problem("to", f"{last} has not begun (now is {now.isoformat()})")
    months = month_range(first, last)
    if len(months) > MAX_MONTHS:
        raise _problem("from", f"at most {MAX_MONTHS} months per request ({len(months)} asked)")
    return months


def get_month_range(
    now: Now,
    first: Annotated[str, Query(alias="from", pattern=_MONTH_PATTERN, description="First month, YYYY-MM (UTC)")],
    last: Annotated[str, Query(alias="to", pattern=_MONTH_PATTERN,
                               description="Last month, YYYY-MM (UTC), included; the month under way reads as of now")],
    tenant_id: Annotated[list[uuid.UUID] | None,
                         Query(description="Only these tenants (repeat the parameter); every tenant if absent")] = None,
) -> MonthRange:
    return MonthRange(month_range_of(first, last, now), tenant_id, now)


MonthRangeDep = Annotated[MonthRange, Depends(get_month_range)]
