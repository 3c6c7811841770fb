"""Reconciling one meter's usage across the three stores that hold it. Pure.

The stream writes each window three times: raw events (ClickHouse), the committed window
(PostgreSQL, which billing reads) and its copy (ClickHouse's rollup, which usage queries
read). Raw events are the record the others are derived from, so the reference is what
the stream's own `aggregate` makes of them; a window any other store holds differently is
a difference, and a repair writes the reference into both stores with a revision above
either's (ClickHouse keeps the highest revision of a window, PostgreSQL is overwritten).

A window absent from a store and a window with no events read alike (a repaired window
whose events are gone stays in ClickHouse as a zero row: its engine cannot forget one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import NamedTuple

from .aggregate import UsageDelta, aggregate, period_total
from .aggregations import aggregation_for
from .event import UsageEvent
from .meter import STORED_RESOLUTIONS, Meter

__all__ = ["STORES", "WindowId", "StoredWindow", "WindowDifference", "StoreTotal", "MeterReconciliation",
           "RepairedWindow", "reference_windows", "reconcile_meter", "repairs"]

RAW, ROLLUP, POSTGRES = "raw", "rollup", "postgres"
STORES = (RAW, ROLLUP, POSTGRES)
# ClickHouse keeps quantities as Decimal128(9) and raw times to the millisecond: stores
# agree when they agree to those precisions.
_QUANTUM = Decimal("1e-9")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class WindowId(NamedTuple):
    resolution: str
    window_start: datetime
    group_key: str


@dataclass(frozen=True)
class StoredWindow:
    quantity: Decimal
    event_count: int
    latest_at: datetime | None = None
    latest_id: str | None = None
    revision: int = 0  # the store's own revision (raw events: 0)

    @property
    def empty(self) -> bool:
        return self.event_count == 0 and self.quantity == 0

    def same_usage(self, other: StoredWindow | None, keeps_latest: bool) -> bool:
        if other is None or other.empty:
            return self.empty
        if self.empty:
            return False
        if (self.event_count != other.event_count
                or self.quantity.quantize(_QUANTUM) != other.quantity.quantize(_QUANTUM)):
            return False
        if not keeps_latest:
            return True
        return (self.latest_id or "") == (other.latest_id or "") and _ms(self.latest_at) == _ms(other.latest_at)


def _ms(moment: datetime | None) -> int:
    if moment is None or moment <= _EPOCH:
        return 0
    return int(moment.timestamp() * 1000)


_NOTHING = StoredWindow(Decimal(0), 0)


@dataclass(frozen=True)
class WindowDifference:
    window: WindowId
    reference: StoredWindow  # from raw events, as the stream aggregates them
    rollup: StoredWindow | None
    postgres: StoredWindow | None
    stores: tuple[str, ...]  # the stores that disagree with the reference: rollup, postgres


@dataclass(frozen=True)
class StoreTotal:
    quantity: Decimal | None  # the period's value (None: windows cannot tell, UNIQUE_COUNT)
    event_count: int


@dataclass(frozen=True)
class MeterReconciliation:
    tenant_id: str
    meter_slug: str
    aggregation: str
    period: str  # "open" or "closed"
    start: datetime
    end: datetime
    totals: Mapping[str, StoreTotal]  # per store compared, over the span it is compared on
    # The raw events' total over each compared store's span (the rollups': from rollup_from).
    reference_totals: Mapping[str, StoreTotal] = field(default_factory=dict)
    differences: list[WindowDifference] = field(default_factory=list)

    @property
    def rollups_compared(self) -> bool:
        return ROLLUP in self.totals

    @property
    def stores_differing(self) -> set[str]:
        """Stores whose period total differs from the raw events' (windows may differ
        while totals agree: e.g. usage moved between two windows)."""
        return {store for store, total in self.reference_totals.items() if self.totals[store] != total}


def _delta_window(delta: UsageDelta) -> StoredWindow:
    return StoredWindow(delta.quantity, delta.event_count, delta.latest_at, delta.latest_id)


def reference_windows(meter: Meter, events: Iterable[UsageEvent], start: datetime, end: datetime
                      ) -> dict[WindowId, StoredWindow]:
    """What the stream makes of `events` for `meter` (each event counted once by the caller),
    per resolution, window and group, for windows in [start, end). Events a meter cannot
    read are left out, as the stream dead-letters them."""
    result = aggregate([e for e in events if start <= e.time < end], [meter], STORED_RESOLUTIONS)
    return {WindowId(key.resolution, key.window_start, key.group_key): _delta_window(delta)
            for key, delta in result.deltas.items() if start <= key.window_start < end}


def _total(aggregation: str, windows: Mapping[WindowId, StoredWindow], since: datetime) -> StoreTotal:
    hours = [w for key, w in windows.items() if key.resolution == "hour" and key.window_start >= since and not w.empty]
    return StoreTotal(period_total(aggregation, hours), sum(w.event_count for w in hours))


def reconcile_meter(tenant_id: str, meter: Meter, period: str, start: datetime, end: datetime,
                    reference: Mapping[WindowId, StoredWindow], rollup: Mapping[WindowId, StoredWindow] | None,
                    postgres: Mapping[WindowId, StoredWindow]) -> MeterReconciliation:
    """Each window any store holds, compared with the reference; the period's totals per
    store. The rollups are compared from the meter's `rollup_from` on (earlier events were
    backfilled into PostgreSQL only, and readers use raw events there); `rollup` None:
    not at all."""
    keeps_latest = aggregation_for(meter.aggregation).keeps_latest
    rollup_from = meter.rollup_from if rollup is not None and meter.rollup_from is not None else None
    held = {POSTGRES: (postgres, start)}
    if rollup_from is not None:
        held[ROLLUP] = (rollup, max(start, rollup_from))
    differences = []
    for window in sorted(set(reference).union(*(windows for windows, _ in held.values()))):
        expected = reference.get(window, _NOTHING)
        stores = tuple(name for name in (ROLLUP, POSTGRES) if name in held and window.window_start >= held[name][1]
                          and not expected.same_usage(held[name][0].get(window), keeps_latest))
        if stores:
            differences.append(WindowDifference(window, expected, (rollup or {}).get(window), postgres.get(window),
                                                stores))
    totals = {RAW: _total(meter.aggregation, reference, start)}
    compared = {}
    for name, (windows, since) in held.items():
        totals[name] = _total(meter.aggregation, windows, since)
        compared[name] = _total(meter.aggregation, reference, since)
    return MeterReconciliation(tenant_id, meter.slug, meter.aggregation, period, start, end, totals, compared,
                               differences)


@dataclass(frozen=True)
class RepairedWindow:
    """A window as both stores are to hold it after the repair, and what it changes in
    PostgreSQL (for late-usage corrections of invoiced periods: the stream's revision rules)."""

    window: WindowId
    value: StoredWindow  # with the new revision; empty: PostgreSQL drops the row
    quantity_change: Decimal
    event_count_change: int


def repairs(differences: Sequence[WindowDifference]) -> list[RepairedWindow]:
    """The reference written over each differing window with a revision above both stores':
    ClickHouse's ReplacingMergeTree keeps it, and PostgreSQL's next upsert counts from it."""
    repaired = []
    for difference in differences:
        held = [w for w in (difference.rollup, difference.postgres) if w is not None]
        revision = max((w.revision for w in held), default=0) + 1
        ref = difference.reference
        before = difference.postgres or _NOTHING
        repaired.append(RepairedWindow(
            difference.window, StoredWindow(ref.quantity, ref.event_count, ref.latest_at, ref.latest_id, revision),
            ref.quantity - before.quantity, ref.event_count - before.event_count))
    return repaired
