"""The faust-streaming worker: events topic -> dedup -> ClickHouse + PostgreSQL usage.

Only the stream package knows faust: this module builds the App and its topics, `agent.py`
processes batches, `timers.py` prunes and refreshes, `web.py` serves the pages, and
`resources.py` holds what they share. ClickHouse is reached through
warehouse/clickhouse/client.py (a server, or the embedded host that owns chDB), so any
number of workers can share the partitions. The composition root (meterline/bootstrap.py)
passes in the stream and Kafka sections and how to open the clients.
"""

from __future__ import annotations

from pathlib import Path

import faust

from meterline.settings import KafkaSettings, StreamSettings

from .agent import register_agent
from .metrics import StreamMetrics
from .rebalance import positioned_consumer
from .resources import StreamClients, WorkerResources
from .timers import register_timers
from .web import register_pages

__all__ = ["StreamClients", "build_app", "run"]


def _faust_app(stream: StreamSettings, kafka: KafkaSettings, data_dir: Path) -> faust.App:
    return faust.App(
        stream.consumer_group,
        broker=f"kafka://{kafka.bootstrap}",
        store="memory://",
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=True,
        web_bind=stream.web_host,
        web_port=stream.web_port,
        topic_partitions=kafka.events_partitions,
        topic_replication_factor=kafka.replication_factor,
        broker_commit_interval=1.0,
        broker_session_timeout=stream.session_timeout_s,
        broker_heartbeat_interval=stream.heartbeat_interval_s,
        broker_rebalance_timeout=max(20.0, 2 * stream.session_timeout_s),
        # Records waiting for the agent: faust's default (4,096) of 500-event packs is
        # ~300 MB of a catch-up's memory. A quarter of a take: while a take is written
        # (seconds), the fetcher refills this and aiokafka's prefetch; a whole take here was
        # ~30 MB more per worker for no measured speed.
        stream_buffer_maxsize=max(1, stream.batch_size // 4),
        datadir=str(data_dir),
    )


def build_app(stream: StreamSettings, kafka: KafkaSettings, clients: StreamClients, data_dir: Path) -> faust.App:
    app = _faust_app(stream, kafka, data_dir)
    events_topic = app.topic(kafka.events_topic, value_serializer="raw", key_serializer="raw",
                             partitions=kafka.events_partitions)
    dead_letter_topic = app.topic(kafka.dead_letter_topic, value_serializer="raw")
    resources = WorkerResources(app, stream, kafka, clients, StreamMetrics())
    # faust's consumer, reporting revocations and resuming assigned partitions at
    # PostgreSQL's positions (stream/rebalance.py). The transport builds consumers from
    # this class attribute; set before the consumer exists (it is built when the app starts).
    app.transport.Consumer = positioned_consumer(app.transport.Consumer, resources.ownership, kafka.events_topic,
                                                 resources.applied_positions)
    register_agent(app, resources, events_topic, dead_letter_topic)
    register_timers(app, resources)
    register_pages(app, resources)
    return app


def run(stream: StreamSettings, kafka: KafkaSettings, clients: StreamClients, data_dir: Path) -> None:
    from faust.worker import Worker

    from meterline.logs import logging_config

    app = build_app(stream, kafka, clients, data_dir)
    Worker(app, loglevel="INFO", quiet=True, logging_config=logging_config("stream")).execute_from_commandline()
