"""Prometheus metrics of one ingest app (its own registry, so several apps can share a process).

With several server processes, ``run`` sets ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics``
aggregates every process's values through prometheus-client's multiprocess collector.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["IngestMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


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

        self._accepted_requests = self.requests.labels("202")

    def accepted_request(self) -> None:
        # The one labelled child of every accepted request, looked up once.
        self._accepted_requests.inc()

    def set_in_flight(self, requests: int, nbytes: int) -> None:
        """The in-flight gauges, set from the admission budget (see ``ingest.app``).

        Set periodically and at every scrape rather than moved by every request: with
        several processes each move is a write to a shared file, four per request.
        """
        self.in_flight.set(requests)
        self.in_flight_bytes.set(nbytes)

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
