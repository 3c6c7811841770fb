"""The worker's Prometheus metrics, served at /metrics on its web port."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["StreamMetrics"]


class StreamMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.records = Counter("meterline_stream_records", "Kafka records applied", registry=r)
        self.records_replayed = Counter("meterline_stream_records_replayed",
                                        "Records skipped because their position was already committed", registry=r)
        self.events = Counter("meterline_stream_events_processed", "Events applied (new, first copies)", registry=r)
        self.records_dropped = Counter("meterline_stream_records_dropped",
                                       "Taken records dropped unwritten because their partitions were revoked "
                                       "(read again from PostgreSQL's positions after the rebalance)", registry=r)
        self.duplicates = Counter("meterline_stream_duplicates_dropped", "Duplicate events dropped", registry=r)
        self.duplicate_conflicts = Counter("meterline_stream_duplicate_conflicts",
                                           "Duplicates whose content differs from the first copy", registry=r)
        self.dead_letters = Counter("meterline_stream_dead_letters", "Dead letters written", registry=r)
        self.corrections = Counter("meterline_stream_corrections", "Usage windows flagged as invoice corrections",
                                   registry=r)
        self.sink_latency = Histogram("meterline_stream_sink_latency_seconds", "One batch through both sinks",
                                      buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.sink_failures = Counter("meterline_stream_sink_failures", "Failed sink attempts (retried)", registry=r)
        self.unwritable_batches = Counter("meterline_stream_unwritable_batches",
                                          "Batches a store refused for their data, split to isolate it", registry=r)
        # kafka-lag-exporter's names and labels, so its dashboards and alerts work unchanged.
        self.lag = Gauge("kafka_consumergroup_group_lag", "Records not yet applied",
                         ["group", "topic", "partition"], registry=r)
        self.lag_seconds = Gauge("kafka_consumergroup_group_lag_seconds",
                                 "Age of the oldest record not yet applied (an upper bound: see metering/freshness.py)",
                                 ["group", "topic", "partition"], registry=r)
        self.watermark = Gauge("meterline_stream_watermark_seconds",
                               "Unix time up to which every accepted event is applied", registry=r)
        self.pruned = Counter("meterline_stream_dedup_pruned", "Dedup records pruned beyond the horizon", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
