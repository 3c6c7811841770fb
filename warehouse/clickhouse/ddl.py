"""ClickHouse tables.

Raw events are written only after PostgreSQL's dedup record says they are new, so
the one way a row can appear twice is a replay after a crash between the ClickHouse
insert and the PostgreSQL commit; such a replay writes an identical row, and
ReplacingMergeTree on the full identity collapses it (queries read FINAL). Replays of
batches already committed never reach ClickHouse: the stream skips records below the
positions it commits with the usage (public.stream_position, stream/sinks/postgres.py).

No materialized views here: an MV fires on every insert, so it would count a replayed
block twice before the merge collapses the raw rows (see stream/README.md for the
rollup plan that avoids this).
"""

from __future__ import annotations

__all__ = ["create_tables"]


def _statements(database: str) -> list[str]:
    return [
        f"CREATE DATABASE IF NOT EXISTS {database}",
        f"""
        CREATE TABLE IF NOT EXISTS {database}.events (
            tenant_id UUID,
            type LowCardinality(String),
            time DateTime64(3, 'UTC'),
            id String,
            source String,
            subject String,
            data String,
            received_at DateTime64(3, 'UTC')
        )
        ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(time)
        ORDER BY (tenant_id, type, time, id)
        """,
    ]


def create_tables(client, database: str) -> None:
    for statement in _statements(database):
        client.command(statement)
