"""The Kafka adapter of ingest: the only module that imports aiokafka.

Idempotent producer, ``acks="all"``, lz4, no linger by default (records that arrive while
a produce request is in flight batch up behind it). ``produce`` returns only when
the broker acknowledged every record, and raises ``BrokerUnavailable`` otherwise (down,
slower than the deadline, or any producer error): the caller answers 503 and the client
retries the whole request, which its event ids make safe.

After a failure the producer refuses at once for ``cooldown_s`` (a small circuit
breaker), so that during an outage requests are answered 503 in microseconds instead
of each parking records in the producer until the deadline.

When any record fails (a batch expired while the broker was away, say), the producer is
replaced by a new one: aiokafka's idempotent producer does not reset its sequence
numbers after a lost batch, so the old one would answer OutOfOrderSequenceNumber for
ever. The new producer id starts clean; duplicates this may let through carry the same
event ids and are dropped downstream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from meterline.settings import IngestSettings, KafkaSettings

__all__ = ["BrokerUnavailable", "EventProducer"]

log = logging.getLogger(__name__)

# Hashes of recent record keys: aiokafka's murmur2 is pure Python (~10 µs a key), and the
# same tenant:subject keys recur request after request. Cleared when full: bounded memory
# (about 10 MB per process at this size).
_MAX_CACHED_HASHES = 50_000


class BrokerUnavailable(Exception):
    """The broker did not acknowledge every record in time; nothing may be reported accepted."""


class EventProducer:
    def __init__(self, kafka: KafkaSettings, ingest: IngestSettings, cooldown_s: float = 1.0,
                 on_error: Callable[[str], None] = lambda kind: None):
        self._bootstrap = kafka.bootstrap
        self._topic = kafka.events_topic
        self._ingest = ingest
        self._cooldown_s = cooldown_s
        self._on_error = on_error
        self._producer: AIOKafkaProducer | None = None
        self._starting: asyncio.Task | None = None
        self._failed_at: float | None = None
        self._key_hashes: dict[bytes, int] = {}

    def _new_producer(self) -> AIOKafkaProducer:
        ingest = self._ingest
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id="meterline-ingest",
            acks="all",
            enable_idempotence=True,
            compression_type="lz4",
            linger_ms=ingest.linger_ms,
            max_batch_size=ingest.producer_max_batch_bytes,
            max_request_size=max(ingest.producer_max_batch_bytes, 2 * ingest.max_pack_bytes),
            # Unacked batches expire after this and release their memory.
            request_timeout_ms=int(ingest.producer_request_timeout_s * 1000),
            retry_backoff_ms=100,
        )

    async def start(self) -> None:
        """Connect now if the broker answers, else keep trying in the background."""
        try:
            await self._connect()
        except (KafkaError, OSError) as exc:
            log.warning("Kafka at %s not reachable at start-up (%s); retrying in the background",
                        self._bootstrap, exc)
            self._starting = asyncio.create_task(self._connect_forever())

    async def _connect(self) -> None:
        producer = self._new_producer()
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def _connect_forever(self, first_delay_s: float = 1.0) -> None:
        await asyncio.sleep(first_delay_s)
        while self._producer is None:
            try:
                await self._connect()
            except (KafkaError, OSError):
                await asyncio.sleep(1.0)

    def _replace(self, broken: AIOKafkaProducer) -> None:
        """Swap a producer that lost a record for a fresh one (see the module docstring)."""
        if self._producer is not broken:
            return  # already replaced
        log.warning("Kafka producer lost a record; replacing it with a new producer id")
        self._producer = None
        self._failed_at = time.monotonic()

        async def replace() -> None:
            try:
                await asyncio.wait_for(broken.stop(), timeout=10)
            except Exception:  # noqa: BLE001 - the old producer is discarded either way
                pass
            await self._connect_forever(first_delay_s=0.0)

        self._starting = asyncio.create_task(replace())

    async def stop(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def refusing(self) -> bool:
        """True while not connected, or within the cool-down after a failure."""
        if self._producer is None:
            return True
        return self._failed_at is not None and time.monotonic() - self._failed_at < self._cooldown_s

    async def partitioner(self, timeout_s: float) -> Callable[[bytes], int]:
        """The partition Kafka's default partitioner gives a key, or BrokerUnavailable.

        Packing needs the partition of every event before the records exist (see
        ``ingest.packing``); this is the same murmur2 mapping over the same partitions,
        so every subject keeps the partition it had when keys were partitioned by aiokafka.
        """
        if self.refusing():
            raise BrokerUnavailable("the broker is unavailable")
        producer = self._producer
        partitions = producer.client.cluster.partitions_for_topic(self._topic)
        if not partitions:  # no metadata for the topic yet
            try:
                async with asyncio.timeout(timeout_s):
                    partitions = await producer.partitions_for(self._topic)
            except (TimeoutError, KafkaError, OSError) as exc:
                self._failed_at = time.monotonic()
                self._on_error("timeout" if isinstance(exc, TimeoutError) else type(exc).__name__)
                raise BrokerUnavailable(f"no partitions for {self._topic}: {type(exc).__name__}: {exc}") from exc
        ordered = sorted(partitions)
        count = len(ordered)
        hashes = self._key_hashes

        def partition_of(key: bytes) -> int:
            h = hashes.get(key)
            if h is None:
                if len(hashes) >= _MAX_CACHED_HASHES:
                    hashes.clear()
                h = hashes[key] = murmur2(key) & 0x7FFFFFFF
            return ordered[h % count]

        return partition_of

    async def send(self, key: bytes, value: bytes, partition: int,
                   headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future:
        """Hands one record to the producer: a future of the broker's acknowledgement, or BrokerUnavailable.

        This may wait while the partition's batch is full and undrained; the caller bounds
        the whole by its deadline (``ingest.coalescing``).
        """
        if self.refusing():
            raise BrokerUnavailable("the broker is unavailable")
        producer = self._producer
        try:
            future = await producer.send(self._topic, value, key=key, partition=partition, headers=headers)
        except (KafkaError, OSError) as exc:
            self.failed(type(exc).__name__)
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        future.add_done_callback(lambda f: self._check_delivered(producer, f))
        return future

    def _check_delivered(self, producer: AIOKafkaProducer, future: asyncio.Future) -> None:
        if future.cancelled() or future.exception() is not None:
            self._replace(producer)

    def failed(self, kind: str) -> None:
        """A record failed or missed its deadline: refuse for the cool-down, count the kind."""
        self._failed_at = time.monotonic()
        self._on_error(kind)

    def delivered(self) -> None:
        """A record was acknowledged: the breaker closes at once."""
        self._failed_at = None

    async def ping(self, timeout_s: float) -> bool:
        """The broker answers a metadata request within ``timeout_s``."""
        if self._producer is None:
            return False
        try:
            async with asyncio.timeout(timeout_s):
                await self._producer.client.fetch_all_metadata()
            return True
        except (TimeoutError, KafkaError, OSError):
            return False

