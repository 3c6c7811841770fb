"""Prometheus metrics of one ingest app (its own registry, so several apps can share a process).

With several server processes, ``run`` sets ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``
aggregates every process's values through prometheus-client's multiprocess collector.

The hot path never touches prometheus-client: it adds to plain per-process tallies
(``count_*``, ``observe_*``), and ``flush`` moves them into the Prometheus metrics, every
``ingest.app`` flush period and before every scrape. In multiprocess mode each counter
increment or histogram observation is an mmap write with a pid check, 6-9% of a
single-event request's CPU when done per request; a flush costs one write per bucket
that moved. The price: another process's figures on ``/metrics`` may lag by one period.
"""

from __future__ import annotations

import os
from bisect import bisect_left

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["IngestMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Tally:
    """Observations of one histogram since the last flush: a count per bucket and the sum."""

    __slots__ = ("bounds", "counts", "total", "moved")

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0
        self.moved = False

    def observe(self, seconds: float) -> None:
        # bisect_left: a value equal to a bound falls in that bound's bucket (le="bound").
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds
        self.moved = True

    def flush_into(self, histogram: Histogram) -> None:
        if not self.moved:
            return
        # prometheus-client (pinned in constraints.txt) has no public bulk observe: these are
        # the per-bucket values and the sum that Histogram.observe increments one at a time.
        buckets = histogram._buckets  # noqa: SLF001
        for i, n in enumerate(self.counts):
            if n:
                buckets[i].inc(n)
                self.counts[i] = 0
        histogram._sum.inc(self.total)  # noqa: SLF001
        self.total = 0.0
        self.moved = False


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter("meterline_ingest_events_accepted", "Events acknowledged by Kafka", registry=r)
        self.duplicates = Counter("meterline_ingest_events_duplicate_in_request",
                                  "Events whose id repeated within their request (sent once)", registry=r)
        self.rejected = Counter("meterline_ingest_events_rejected", "Events refused, by reason",
                                ["reason"], registry=r)
        self.requests = Counter("meterline_ingest_requests", "Requests to /v1/events by status",
                                ["status"], registry=r)
        self.request_latency = Histogram("meterline_ingest_request_seconds", "POST /v1/events latency",
                                         buckets=_LATENCY_BUCKETS, registry=r)
        self.produce_latency = Histogram("meterline_ingest_produce_seconds",
                                         "Time from first send to the last acknowledgement",
                                         buckets=_LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge("meterline_ingest_in_flight_requests", "Requests being handled",
                               registry=r, multiprocess_mode="livesum")
        self.in_flight_bytes = Gauge("meterline_ingest_in_flight_bytes",
                                     "Bytes reserved by requests and unacknowledged records",
                                     registry=r, multiprocess_mode="livesum")
        self.producer_errors = Counter("meterline_ingest_producer_errors", "Produce failures by kind",
                                       ["kind"], registry=r)
        # The tallies since the last flush.
        self._accepted = 0
        self._duplicates = 0
        self._requests: dict[str, int] = {}
        self._rejected: dict[str, int] = {}
        self._request_seconds = _Tally(_LATENCY_BUCKETS)
        self._produce_seconds = _Tally(_LATENCY_BUCKETS)

    # --- the hot path: plain arithmetic, published by flush() --------------------------

    def count_accepted(self, events: int, duplicates: int) -> None:
        self._accepted += events
        self._duplicates += duplicates
        self._requests["202"] = self._requests.get("202", 0) + 1

    def count_rejected(self, status: int, reason: str, events: int) -> None:
        key = str(status)
        self._requests[key] = self._requests.get(key, 0) + 1
        self._rejected[reason] = self._rejected.get(reason, 0) + events

    def observe_request(self, seconds: float) -> None:
        self._request_seconds.observe(seconds)

    def observe_produce(self, seconds: float) -> None:
        self._produce_seconds.observe(seconds)

    def producer_error(self, kind: str) -> None:
        self.producer_errors.labels(kind).inc()  # rare: written at once

    def flush(self) -> None:
        """Publish the tallies to the Prometheus metrics (and, multiprocess, to this process's files)."""
        if self._accepted:
            self.accepted.inc(self._accepted)
            self._accepted = 0
        if self._duplicates:
            self.duplicates.inc(self._duplicates)
            self._duplicates = 0
        if self._requests:
            requests, self._requests = self._requests, {}
            for status, n in requests.items():
                self.requests.labels(status).inc(n)
        if self._rejected:
            rejected, self._rejected = self._rejected, {}
            for reason, n in rejected.items():
                if n:
                    self.rejected.labels(reason).inc(n)
                else:  # a request refused before any event was counted still shows its reason
                    self.rejected.labels(reason)
        self._request_seconds.flush_into(self.request_latency)
        self._produce_seconds.flush_into(self.produce_latency)

    def set_in_flight(self, requests: int, nbytes: int) -> None:
        """The in-flight gauges, set from the admission budget (see ``ingest.app``).

        Set periodically and at every scrape rather than moved by every request: with
        several processes each move is a write to a shared file, four per request.
        """
        self.in_flight.set(requests)
        self.in_flight_bytes.set(nbytes)

    def exposition(self) -> bytes:
        self.flush()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
