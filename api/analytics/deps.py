"""What every analytics request carries: the instant it reads at (one clock read per request,
overridable in tests) and the months and tenants it covers.

The range is a first month and a count, not two months, so that every constraint on it is
in the OpenAPI schema (no "to before from" to refuse); months not begun at `now` have no
figures and are left out, so a range reaching into the future answers what exists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query

from billing_jobs.analytics import Month, begun_months, parse_month

from ..auth import utcnow

__all__ = ["Now", "MonthRange", "MonthRangeDep", "get_now", "get_month_range", "MAX_MONTHS"]

# A bound on the work one request can ask for: every figure walks each month.
MAX_MONTHS = 120
# Years 2000-2099: a billing platform's history, and a bound the schema can state.
_MONTH_PATTERN = r"^20\d{2}-(0[1-9]|1[0-2])$"


def get_now() -> datetime:
    return utcnow()


Now = Annotated[datetime, Depends(get_now)]


@dataclass(frozen=True)
class MonthRange:
    months: list[Month]  # may be empty: the range had not begun
    tenant_ids: list[uuid.UUID] | None  # None: every tenant
    now: datetime

    @property
    def first(self) -> Month:
        return self.months[0]

    @property
    def last(self) -> Month:
        return self.months[-1]


def get_month_range(
    now: Now,
    first: Annotated[str, Query(alias="from", pattern=_MONTH_PATTERN, description="First month, YYYY-MM (UTC)")],
    months: Annotated[int, Query(ge=1, le=MAX_MONTHS, description="How many months from `from`; those not begun "
                                                                  "are left out, the month under way reads as of now")
                      ] = 12,
    tenant_id: Annotated[list[uuid.UUID] | None,
                         Query(description="Only these tenants (repeat the parameter); every tenant if absent")] = None,
) -> MonthRange:
    return MonthRange(begun_months(parse_month(first), months, now), tenant_id, now)


MonthRangeDep = Annotated[MonthRange, Depends(get_month_range)]
