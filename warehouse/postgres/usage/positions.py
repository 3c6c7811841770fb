"""The stream's positions: the next offset to apply per consumer group and partition,
committed with the usage it covers (PostgreSQL's positions are the truth; Kafka's follow)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import stream_position

__all__ = ["PartitionPosition", "load_positions", "save_positions", "list_positions"]


@dataclass(frozen=True)
class PartitionPosition:
    topic: str
    partition: int
    next_offset: int
    record_at: datetime
    updated_at: datetime


async def load_positions(conn: AsyncConnection, consumer_group: str, topic: str,
                         partitions: Iterable[int]) -> dict[int, int]:
    """Next offset to apply per partition, locked until the caller's transaction ends.

    The lock makes a zombie worker (one that lost the partition but still writes) wait
    and then skip what the new owner already applied.
    """
    rows = await conn.execute(
        select(stream_position.c.partition, stream_position.c.next_offset)
        .where(stream_position.c.consumer_group == consumer_group, stream_position.c.topic == topic,
               stream_position.c.partition.in_(sorted(set(partitions))))
        .with_for_update()
    )
    return {partition: offset for partition, offset in rows}


async def save_positions(conn: AsyncConnection, consumer_group: str, topic: str,
                         positions: Mapping[int, tuple[int, datetime]]) -> None:
    """positions: partition -> (next offset, Kafka timestamp of the last record applied)."""
    if not positions:
        return
    statement = pg_insert(stream_position).values([
        {"consumer_group": consumer_group, "topic": topic, "partition": p, "next_offset": o, "record_at": at}
        for p, (o, at) in sorted(positions.items())
    ])
    statement = statement.on_conflict_do_update(
        index_elements=["consumer_group", "topic", "partition"],
        set_={"next_offset": func.greatest(stream_position.c.next_offset, statement.excluded.next_offset),
              "record_at": func.greatest(stream_position.c.record_at, statement.excluded.record_at),
              "updated_at": func.now()},
    )
    await conn.execute(statement)


async def list_positions(conn: AsyncConnection, consumer_group: str) -> list[PartitionPosition]:
    rows = await conn.execute(
        select(stream_position.c.topic, stream_position.c.partition, stream_position.c.next_offset,
               stream_position.c.record_at, stream_position.c.updated_at)
        .where(stream_position.c.consumer_group == consumer_group)
        .order_by(stream_position.c.topic, stream_position.c.partition)
    )
    return [PartitionPosition(*row) for row in rows]
