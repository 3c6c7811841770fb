"""The freshness watermark of usage answers, computed by the API itself.

Source: the stream's committed positions in PostgreSQL (public.stream_position, written
in the same transaction as the usage they cover) and the events topic's end offsets
from Kafka, combined by the stream's own pure rule (metering/freshness.py). Asking a
worker's internal endpoint instead would tie every usage request to one worker being
up and reachable, and the workers' positions are in PostgreSQL anyway.

This module is the API's Kafka adapter: one aiokafka consumer without a group (it
only asks for end offsets, never joins or commits), started on first use. A result is
kept for `CACHE_S` so that a burst of requests costs one round trip to each store.

The watermark never goes back within a process (`advance`): an event accepted after the
stream caught up (a partition lags again) does not un-include what was included. When
Kafka or PostgreSQL cannot be asked, answers carry the last watermark known (null before
the first) rather than failing: it is still true, only staler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

from aiokafka import AIOKafkaConsumer, TopicPartition

from meterline.settings import KafkaSettings
from metering.freshness import Freshness, freshness
from warehouse.postgres.database import Database, Engine
from warehouse.postgres.usage.positions import list_positions

__all__ = ["WatermarkSource", "CACHE_S", "advance"]

log = logging.getLogger(__name__)

CACHE_S = 1.0


def advance(previous: datetime | None, computed: datetime | None) -> datetime | None:
    """The watermark to publish: never earlier than one already published. None computed
    (a partition with records and none applied) keeps the previous one."""
    if computed is None or (previous is not None and computed <= previous):
        return previous
    return computed


class WatermarkSource:
    def __init__(self, kafka: KafkaSettings, consumer_group: str, engine: Engine) -> None:
        self._kafka = kafka
        self._group = consumer_group
        self._database = Database(engine)
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._cached_at = float("-inf")
        self._watermark: datetime | None = None

    async def _end_offsets(self) -> dict[int, int]:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self._kafka.bootstrap, enable_auto_commit=False,
                                        request_timeout_ms=5_000)
            try:
                await consumer.start()
            except BaseException:
                await consumer.stop()  # a consumer that failed to start still holds its client
                raise
            self._consumer = consumer
        topic = self._kafka.events_topic
        partitions = self._consumer.partitions_for_topic(topic) or set(range(self._kafka.events_partitions))
        ends = await self._consumer.end_offsets([TopicPartition(topic, p) for p in sorted(partitions)])
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    async def freshness(self) -> Freshness:
        """Per-partition lag and the watermark, uncached; raises when a store cannot be asked
        (`meterline status` uses it for lag that does not depend on a worker being up)."""
        # `now`, then end offsets, then positions: an event acknowledged before `now` is below
        # the end offsets read after it, and a position committed later can only be further
        # on, so a caught-up partition never claims an event that was not applied.
        now = datetime.now(timezone.utc)
        ends = await self._end_offsets()
        async with self._database.connect() as conn:
            rows = await list_positions(conn, self._group)
        positions = {r.partition: (r.next_offset, r.record_at) for r in rows if r.topic == self._kafka.events_topic}
        return freshness(ends, positions, now)

    async def _compute(self) -> datetime | None:
        return (await self.freshness()).watermark

    async def watermark(self) -> datetime | None:
        """Every accepted event up to this time is in the usage answers; None when unknown."""
        async with self._lock:
            if time.monotonic() - self._cached_at < CACHE_S:
                return self._watermark
            try:
                computed = await self._compute()
            except Exception as exc:  # noqa: BLE001 - any failure of either store: unknown, not an error
                log.warning("freshness watermark unavailable: %s", exc)
                await self._drop_consumer()
                return self._watermark
            self._watermark = advance(self._watermark, computed)
            self._cached_at = time.monotonic()
            return self._watermark

    async def _drop_consumer(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            try:
                await consumer.stop()
            except Exception:  # noqa: BLE001 - a broken client is dropped either way
                pass

    async def aclose(self) -> None:
        await self._drop_consumer()
