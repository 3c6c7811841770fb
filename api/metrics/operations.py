"""Figures of the platform's operations, read at scrape time from where they are recorded.

Flows are short-lived processes (a Prefect worker runs each flow run, then it is gone), so
no Prometheus could scrape them, and a Pushgateway would be one more process to run and to
lose counts in. Prefect's API already records every run, PostgreSQL every invoice, and the
latest `reconcile-usage` artifact its differences: /metrics reads them there, at most once
per `ttl_s` (a scrape every 15 s by every Prometheus replica costs one read per ttl).

- `meterline_flow_runs_total{flow,state}`: runs that ended, by final state (completed,
  failed, crashed, cancelled);
- `meterline_flow_last_success_timestamp_seconds{flow}`: end of each flow's last completed run;
- `meterline_invoices_issued_total{currency}`, `meterline_invoices_issued_minor_units_total{currency}`:
  invoices issued (not draft or void) and their totals, over every tenant;
- `meterline_reconcile_differences{store,period}`: windows of the latest reconcile-usage run
  that differ from the raw events, and `meterline_reconcile_last_run_timestamp_seconds`;
- `meterline_operations_source_up{source}`: 0 when Prefect or PostgreSQL did not answer
  (their series are then left out, not reported as zero).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

__all__ = ["OperationsCollector", "OperationsSnapshot", "OperationsSource", "operations_families",
           "RECONCILE_ARTIFACT", "RECONCILE_STORES", "RECONCILE_PERIODS"]

log = logging.getLogger(__name__)

RECONCILE_ARTIFACT = "reconcile-usage-differences"  # flows/reconcile.py's DIFFERENCES_ARTIFACT
RECONCILE_STORES = ("rollup", "postgres")
RECONCILE_PERIODS = ("closed", "open")


@dataclass(frozen=True)
class OperationsSnapshot:
    flow_runs: dict[tuple[str, str], int] | None = None  # (flow, Prefect state type) -> runs
    last_success: dict[str, float] = field(default_factory=dict)
    invoices: dict[str, tuple[int, int]] | None = None  # currency -> (invoices, total minor units)
    reconcile_rows: list[dict] | None = None  # the latest artifact's rows; None: no run yet
    reconcile_at: float | None = None
    sources_up: dict[str, bool] = field(default_factory=dict)


def operations_families(snapshot: OperationsSnapshot) -> list[Metric]:
    families: list[Metric] = []
    up = GaugeMetricFamily("meterline_operations_source_up", "Whether /metrics could read a source", labels=["source"])
    for source, answered in sorted(snapshot.sources_up.items()):
        up.add_metric([source], 1.0 if answered else 0.0)
    families.append(up)
    if snapshot.flow_runs is not None:
        runs = CounterMetricFamily("meterline_flow_runs", "Flow runs that ended, by flow and final state",
                                   labels=["flow", "state"])
        for (flow, state), count in sorted(snapshot.flow_runs.items()):
            runs.add_metric([flow, state.lower()], count)
        success = GaugeMetricFamily("meterline_flow_last_success_timestamp_seconds",
                                    "End of the flow's last completed run", labels=["flow"])
        for flow, at in sorted(snapshot.last_success.items()):
            success.add_metric([flow], at)
        families += [runs, success]
    if snapshot.invoices is not None:
        issued = CounterMetricFamily("meterline_invoices_issued", "Invoices issued (not draft or void)",
                                     labels=["currency"])
        amounts = CounterMetricFamily("meterline_invoices_issued_minor_units",
                                      "Totals of the invoices issued, in the currency's minor units",
                                      labels=["currency"])
        for currency, (count, total) in sorted(snapshot.invoices.items()):
            issued.add_metric([currency.lower()], count)
            amounts.add_metric([currency.lower()], total)
        families += [issued, amounts]
    if snapshot.reconcile_rows is not None:
        differences = GaugeMetricFamily("meterline_reconcile_differences",
                                        "Windows of the latest reconcile-usage run that differ from the raw events",
                                        labels=["store", "period"])
        found = Counter((row.get("store"), row.get("period")) for row in snapshot.reconcile_rows)
        for store in RECONCILE_STORES:
            for period in RECONCILE_PERIODS:
                differences.add_metric([store, period], found[store, period])
        last = GaugeMetricFamily("meterline_reconcile_last_run_timestamp_seconds",
                                 "When the latest reconcile-usage run reported")
        last.add_metric([], snapshot.reconcile_at or 0.0)
        families += [differences, last]
    return families


class OperationsSource:
    """The latest snapshot, read again when older than `ttl_s`. Each reader answers or not
    on its own: Prefect down still leaves the invoice totals."""

    def __init__(self, read_runs: Callable[[], Awaitable[tuple[dict, dict]]],
                 read_artifact: Callable[[str], Awaitable[tuple[object, float] | None]],
                 read_invoices: Callable[[], Awaitable[dict[str, tuple[int, int]]]], ttl_s: float = 10.0,
                 close: Callable[[], Awaitable[None]] | None = None) -> None:
        self._read_runs, self._read_artifact, self._read_invoices = read_runs, read_artifact, read_invoices
        self._ttl_s = ttl_s
        self._close = close
        self._snapshot = OperationsSnapshot()
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def snapshot(self) -> OperationsSnapshot:
        return self._snapshot

    async def _prefect(self) -> tuple:
        runs, last_success = await self._read_runs()
        latest = await self._read_artifact(RECONCILE_ARTIFACT)
        rows = at = None
        if latest is not None:
            data, at = latest
            rows = [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []
        return runs, last_success, rows, at

    async def refresh(self) -> OperationsSnapshot:
        async with self._lock:
            if time.monotonic() - self._read_at < self._ttl_s:
                return self._snapshot
            prefect, invoices = await asyncio.gather(self._prefect(), self._read_invoices(), return_exceptions=True)
            for source, outcome in (("prefect", prefect), ("postgres", invoices)):
                if isinstance(outcome, BaseException):
                    log.warning("/metrics could not read %s: %r", source, outcome)
            prefect_up, postgres_up = (not isinstance(outcome, BaseException) for outcome in (prefect, invoices))
            runs, last_success, rows, at = prefect if prefect_up else (None, {}, None, None)
            self._snapshot = OperationsSnapshot(runs, last_success, invoices if postgres_up else None, rows, at,
                                                {"prefect": prefect_up, "postgres": postgres_up})
            self._read_at = time.monotonic()
            return self._snapshot

    async def aclose(self) -> None:
        if self._close is not None:
            await self._close()


class OperationsCollector:
    """prometheus-client's view of the source's latest snapshot (refreshed by the route)."""

    def __init__(self, source: OperationsSource) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        yield from operations_families(self._source.snapshot)

    def describe(self) -> list[Metric]:
        return []  # families vary with the snapshot: collected only at scrape time
