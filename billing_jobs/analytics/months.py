"""Calendar months in UTC, the unit every analytics figure is reported by (as invoices are:
billing_jobs.invoicing.billing_period)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

__all__ = ["Month", "begun_months", "month_range", "parse_month"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9998:
            raise ValueError(f"no such month: {self.year}-{self.month}")

    @classmethod
    def of(cls, moment: date) -> Month:
        return cls(moment.year, moment.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """The next month's first instant: months are half-open, [start, end)."""
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_month(text: str) -> Month:
    """'2026-01' -> Month(2026, 1); ValueError for anything else."""
    found = _MONTH.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a month (YYYY-MM)")
    return Month(int(found[1]), int(found[2]))


def month_range(first: Month, last: Month) -> list[Month]:
    """Every month from `first` to `last`, both included."""
    if last < first:
        raise ValueError(f"{last} is before {first}")
    months = [first]
    while months[-1] < last:
        months.append(months[-1].next())
    return months


def begun_months(first: Month, count: int, now: datetime) -> list[Month]:
    """Up to `count` months from `first`, without those not begun at `now` (they have no figures)."""
    months: list[Month] = []
    month = first
    while len(months) < count and month.start < now:
        months.append(month)
        month = month.next()
    return months
