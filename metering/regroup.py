"""Fine UTC windows of one meter added into a zone's windows and the caller's groups. Pure.

Each fine point is a window as stored (an AVG's quantity is still its values' sum), so
each aggregation's own `merge` combines them, exactly as the stream combines minutes
into hours. Distinct counts do not add up: their points carry the distinct values
themselves, and a window's count is the size of their union.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .aggregations import PeriodTotal, aggregation_for
from .zone_windows import window_index

__all__ = ["FinePoint", "UsageRow", "MeterTotal", "regroup", "row_key", "ROW_KEY_ARITY"]


@dataclass(frozen=True)
class FinePoint:
    window_start: datetime  # UTC, at the resolution that was read
    group: Mapping[str, str | None]  # every group-by property of the meter
    quantity: Decimal
    event_count: int
    subject: str | None = None  # set when read per subject
    latest_at: datetime | None = None
    latest_id: str | None = None
    values: frozenset[str] | None = None  # UNIQUE_COUNT: the distinct values themselves


@dataclass(frozen=True)
class UsageRow:
    meter: str
    window_start: datetime
    window_end: datetime
    group: dict[str, str | None]
    subject: str | None
    quantity: Decimal
    event_count: int


@dataclass(frozen=True)
class MeterTotal:
    meter: str
    aggregation: str
    quantity: Decimal
    event_count: int


@dataclass
class _Cell:
    total: PeriodTotal = field(default_factory=PeriodTotal)
    values: set[str] = field(default_factory=set)


def _value(kind, cell: _Cell) -> Decimal:
    if not kind.combinable:
        return Decimal(len(cell.values))
    value = kind.total_value(cell.total)
    return Decimal(0) if value is None else value


def _absorb(kind, cell: _Cell, point: FinePoint) -> None:
    if kind.combinable:
        kind.absorb(cell.total, point.quantity, point.event_count, point.latest_at, point.latest_id)
    else:
        cell.values |= point.values or frozenset()
        cell.total.event_count += point.event_count


def regroup(meter: str, aggregation: str, points: Iterable[FinePoint], edges: Sequence[datetime],
            group_by: Sequence[str], by_subject: bool) -> tuple[list[UsageRow], MeterTotal]:
    """Rows per (zone window, chosen groups, subject when asked), sorted, and the meter's
    total over the whole range with every group merged."""
    kind = aggregation_for(aggregation)
    cells: dict[tuple, _Cell] = {}
    overall = _Cell()
    edges = list(edges)
    for point in points:
        index = window_index(edges, point.window_start)
        if index is None:
            continue
        groups = tuple((name, point.group.get(name)) for name in group_by)
        key = (index, groups, point.subject if by_subject else None)
        _absorb(kind, cells.setdefault(key, _Cell()), point)
        _absorb(kind, overall, point)
    rows = [UsageRow(meter, edges[index], edges[index + 1], dict(groups), subject, _value(kind, cell),
                     cell.total.event_count)
            for (index, groups, subject), cell in cells.items()]
    rows.sort(key=row_key)
    return rows, MeterTotal(meter, aggregation, _value(kind, overall), overall.total.event_count)


ROW_KEY_ARITY = 5


def row_key(row: UsageRow) -> tuple:
    """The one order of rows, which the cursor of a page resumes from."""
    return (row.meter, row.window_start, tuple(sorted((k, v is not None, v or "") for k, v in row.group.items())),
            row.subject is not None, row.subject or "")
