"""What reconciling usage reads from and writes to ClickHouse (stream/reconcile.py): a
meter's raw events and rollup windows over a period, and repaired rollup windows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal

import orjson

from metering import STORED_RESOLUTIONS, Meter, UsageEvent
from metering.reconcile import RepairedWindow, StoredWindow, WindowId

__all__ = ["ClickHouseReconcileStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_INPUT_SETTINGS = {"date_time_input_format": "best_effort"}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class ClickHouseReconcileStore:
    """Synchronous (clickhouse-connect or the embedded host's client): callers run it in a thread."""

    def __init__(self, client, database: str) -> None:
        self._client = client
        self._database = database

    def raw_events(self, meter: Meter, start: datetime, end: datetime) -> list[UsageEvent]:
        """Every stored copy of the meter's events in [start, end): copies of a crashed batch
        under another time come back too, and the caller keeps the committed one."""
        rows = self._client.query(
            f"SELECT id, subject, time, data, source FROM {self._database}.events FINAL "
            "WHERE tenant_id = {tenant:UUID} AND type = {type:String} "
            "AND time >= {start:DateTime64(3)} AND time < {end:DateTime64(3)}",
            parameters={"tenant": str(meter.tenant_id), "type": meter.event_type, "start": start, "end": end},
        ).result_rows
        return [UsageEvent(meter.tenant_id, event_id, meter.event_type, subject, _utc(at),
                           orjson.loads(data) if data else {}, source)
                for event_id, subject, at, data, source in rows]

    def rollup_windows(self, meter: Meter, start: datetime, end: datetime) -> dict[WindowId, StoredWindow]:
        rows = self._client.query(
            "SELECT toString(resolution), window_start, group_key, toString(quantity), event_count, latest_at, "
            f"latest_id, revision FROM {self._database}.usage_rollup FINAL "
            "WHERE tenant_id = {tenant:UUID} AND meter_slug = {slug:String} "
            "AND has({stored:Array(String)}, toString(resolution)) "
            "AND window_start >= {start:DateTime64(3)} AND window_start < {end:DateTime64(3)}",
            # Minute rows written before minutes were dropped (metering.STORED_RESOLUTIONS) stay unread.
            parameters={"tenant": str(meter.tenant_id), "slug": meter.slug, "start": start, "end": end,
                        "stored": list(STORED_RESOLUTIONS)},
        ).result_rows
        windows = {}
        for resolution, window, group, quantity, count, latest_at, latest_id, revision in rows:
            latest = _utc(latest_at) if latest_at and _utc(latest_at) > _EPOCH else None
            windows[WindowId(resolution, _utc(window), group)] = StoredWindow(
                Decimal(quantity), int(count), latest, latest_id if latest else None, int(revision))
        return windows

    def write_rollups(self, meter: Meter, repaired: Sequence[RepairedWindow]) -> None:
        """Each repaired window with its new revision: ReplacingMergeTree keeps it over older ones."""
        if not repaired:
            return
        rows = b"\n".join(orjson.dumps([
            str(meter.tenant_id), meter.slug, r.window.resolution, r.window.window_start, r.window.group_key,
            meter.aggregation, format(r.value.quantity, "f"), r.value.event_count, r.value.latest_at or _EPOCH,
            r.value.latest_id or "", r.value.revision]) for r in repaired)
        self._client.raw_insert(
            f"{self._database}.usage_rollup",
            ["tenant_id", "meter_slug", "resolution", "window_start", "group_key", "aggregation", "quantity",
             "event_count", "latest_at", "latest_id", "revision"],
            rows, settings=_INPUT_SETTINGS, fmt="JSONCompactEachRow")

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if close:
            close()

