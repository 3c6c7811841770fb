"""Rebalances: where an assigned partition resumes, and which taken records are still ours.

faust (over aiokafka) rebalances eagerly: every worker gives up all its partitions
(revoke), waits until its agent has acked every record it holds (faust's
`stream_wait_empty`), rejoins, and gets a new set (assign). Two rules make that short and
exact (stream/README.md, "Several workers"):

- **Revoked records are dropped, not written.** From the revoke on, records delivered in
  the revoked generation (or earlier) are stale (`Ownership`): the agent finishes the
  transaction in flight and drops the rest of its take, so the rebalance waits for one
  transaction instead of a take. A dropped record is marked done without an ack, so
  faust never commits its offset to Kafka: Kafka's committed offset of a partition stays
  at or below PostgreSQL's position (every acked record was written, or was already
  below the position).
- **An assigned partition resumes at PostgreSQL's position**, not Kafka's:
  `seek_to_committed`, which faust calls after every assignment before it resumes the
  flow, seeks each partition of the events topic to the `next_offset` of its
  `stream_position` row (a partition without one: to its beginning, which is what a
  group without commits did anyway). The dropped records are read again from there, by
  whichever worker now owns them; nothing below the position is fetched again. If
  PostgreSQL cannot be read, faust's own seek to Kafka's committed offsets is used:
  at or below the positions, so the sink skips what was already applied, and nothing
  dropped is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from faust.types import TP

__all__ = ["Ownership", "positioned_consumer"]

log = logging.getLogger("meterline.stream")


class Ownership:
    """Which taken records the worker may still write: those delivered after its last
    revocation. Pure: the consumer reports revocations, the agent asks per record."""

    def __init__(self) -> None:
        self.revoked_generation = -1
        self.revocations = 0

    def revoke(self, generation: int) -> None:
        """A rebalance began: records of `generation` and before are someone else's now
        (or this worker's again after the next assignment, which seeks back to them)."""
        self.revoked_generation = max(self.revoked_generation, generation)
        self.revocations += 1

    def holds(self, generation: int | None) -> bool:
        # A record without a generation is written: dropping is only safe when a
        # rebalance (and so a seek back) follows, which is what a revoked generation says.
        return generation is None or generation > self.revoked_generation


# partitions of the events topic -> next offset to apply (PostgreSQL's stream_position)
PositionSource = Callable[[], Awaitable[Mapping[int, int]]]


def positioned_consumer(base: type, ownership: Ownership, topic: str, positions: PositionSource) -> type:
    """faust's consumer class (`base`), reporting revocations to `ownership` and seeking
    the events topic's assigned partitions to PostgreSQL's positions."""

    class PositionedConsumer(base):
        async def on_partitions_revoked(self, revoked: set[TP]) -> None:
            # First, before faust waits for the agent to ack what it holds.
            ownership.revoke(self.app.consumer_generation_id)
            log.info("partitions revoked: the rest of the take is dropped",
                     extra={"generation": self.app.consumer_generation_id,
                            "partitions": sorted(tp.partition for tp in revoked if tp.topic == topic)})
            await super().on_partitions_revoked(revoked)

        async def seek_to_committed(self) -> Mapping[TP, int | None]:
            # Kafka's committed offsets for every assigned partition (faust's own seek; the
            # group leader also reads faust's assignor topic), then the events topic's at
            # PostgreSQL's positions. Flow is stopped meanwhile: nothing is fetched between.
            committed = dict(await super().seek_to_committed())
            ours = {tp for tp in self.assignment() if tp.topic == topic}
            if not ours:
                return committed
            try:
                applied = await positions()
                offsets = {tp: applied.get(tp.partition, 0) for tp in ours}
                await self.seek_wait(offsets)
            except Exception:  # noqa: BLE001 - Kafka's offsets are at or below the positions: safe
                log.exception("could not seek to PostgreSQL's positions; resuming at Kafka's committed offsets")
                return committed
            log.info("assigned partitions resume at PostgreSQL's positions",
                     extra={"generation": self.app.consumer_generation_id,
                            "positions": {str(tp.partition): o for tp, o in sorted(offsets.items())}})
            return {**committed, **offsets}

    return PositionedConsumer
