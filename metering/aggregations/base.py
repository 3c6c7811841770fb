"""What every aggregation answers, and the running total of a period. Pure.

A window (a delta, a usage_hourly row, a rollup row) is (quantity, event_count,
latest_at, latest_id). Each aggregation says what its quantity means and owns every
rule that depends on it: how an event's value enters a window (`add`), how two windows
of one meter merge (`merge`, which the stream uses for coarser windows and the period
total for hours), what one window or a whole period reads as (`window_value`,
`total_value`), what a late event into an invoiced period bills (`late_correction`),
and the SQL fragments of both stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from ..meter import extract_value

if TYPE_CHECKING:
    from ..aggregate import UsageDelta
    from ..event import UsageEvent

__all__ = ["DELTA", "RESTATE", "MeterAggregation", "PeriodTotal"]

DELTA = "delta"  # a late event's units are added to the invoiced period (billing_jobs.corrections)
RESTATE = "restate"  # a late event may change the period's value: bill the meter again
_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(slots=True)
class PeriodTotal:
    """Windows of one meter combined over a span. Shaped as a window, so each aggregation's
    `merge` combines it; `windows` counts what was absorbed (none: the span's value is 0)."""

    quantity: Decimal = Decimal(0)
    event_count: int = 0
    latest_at: datetime | None = None
    latest_id: str | None = None
    windows: int = 0


class MeterAggregation:
    """The base is the additive rule (COUNT, SUM); each subclass overrides what differs."""

    name: ClassVar[str]
    description: ClassVar[str]
    # Whether rows of COUNT and SUM of one meter may mix (rows written before usage_hourly
    # had an aggregation column say SUM): only additive aggregations add up alike.
    additive: ClassVar[bool] = False
    # Whether a period's value can be combined from windows: False when only the values
    # themselves combine (UNIQUE_COUNT), so PostgreSQL's windows cannot answer and billing refuses.
    combinable: ClassVar[bool] = True
    # Windows carry the (time, id) of the event whose value they hold (LATEST).
    keeps_latest: ClassVar[bool] = False
    # The value is any JSON scalar as text (UNIQUE_COUNT), not a number.
    reads_text: ClassVar[bool] = False
    late_correction: ClassVar[str | None] = DELTA  # DELTA, RESTATE, or None (not billable)
    # PostgreSQL: how a window row `t` absorbs a new delta `excluded` (warehouse/postgres/usage.py).
    postgres_merge: ClassVar[str] = "t.quantity + excluded.quantity"
    # ClickHouse: the quantity of one window from rollup rows, and from raw events given
    # the expression of an event's value (warehouse/clickhouse/queries.py).
    clickhouse_rollup: ClassVar[str] = "sum(quantity)"
    clickhouse_raw: ClassVar[str] = "sum({value})"

    @property
    def needs_value(self) -> bool:
        """Whether the meter needs a value_path (every aggregation but COUNT)."""
        return True

    # read_value, add and merge are static: the stream calls them per event and meter, and
    # a plain function call is cheaper than a bound method's (bench: aggregate() timing).
    @staticmethod
    def read_value(data: Mapping[str, Any], path: str | None) -> Decimal | str | None:
        return extract_value(data, path or "")

    @staticmethod
    def add(delta: UsageDelta, event: UsageEvent, value: Any) -> None:
        delta.quantity += value
        delta.event_count += 1

    @staticmethod
    def merge(delta: UsageDelta | PeriodTotal, other: UsageDelta | PeriodTotal) -> None:
        """Absorb another window of the same meter (a finer window, or another hour or group)."""
        delta.quantity += other.quantity
        delta.event_count += other.event_count

    def window_value(self, quantity: Decimal, event_count: int) -> Decimal:
        """What one window's stored quantity reads as."""
        return quantity

    def total_value(self, total: PeriodTotal) -> Decimal | None:
        """A period's value from its combined windows; None when windows cannot tell (UNIQUE_COUNT)."""
        return self.window_value(total.quantity, total.event_count) if total.windows else Decimal(0)

    def absorb(self, total: PeriodTotal, quantity: Decimal, event_count: int = 0,
               latest_at: datetime | None = None, latest_id: str | None = None) -> None:
        """One stored window into a period's total. A stored window may have event_count 0
        (rows seeded by tests and backfills), so the first window is taken as it is."""
        window = PeriodTotal(Decimal(quantity), event_count, latest_at, latest_id, 1)
        if total.windows == 0:
            total.quantity, total.event_count = window.quantity, window.event_count
            total.latest_at, total.latest_id = latest_at, latest_id
        else:
            self.merge(total, window)
        total.windows += 1

    def __repr__(self) -> str:
        return f"<aggregation {self.name}>"


def latest_key(at: datetime | None, event_id: str | None) -> tuple[datetime, str]:
    """LATEST's order: time, then id, so every replay and order of arrival picks the same event."""
    return (at or _EPOCH, event_id or "")
