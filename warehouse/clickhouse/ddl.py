"""ClickHouse tables.

Raw events are written only after PostgreSQL's dedup record says they are new, so
the one way a row can appear twice is a replay after a crash between the ClickHouse
insert and the PostgreSQL commit; such a replay writes an identical row, and
ReplacingMergeTree on the full identity collapses it (queries read FINAL). Replays of
batches already committed never reach ClickHouse: the stream skips records below the
positions it commits with the usage (public.stream_position, stream/sinks/postgres.py).

Rollups (see stream/README.md, "Rollups"):

- `usage_rollup` holds every meter's windows (hour and day, per group; minute rows written
  before tenant_0900 stay unread: minutes are read from raw events) as
  *absolute* values copied from PostgreSQL's usage tables inside the stream's
  transaction, with the row's revision as the ReplacingMergeTree version. A replay
  after a crash rewrites a window with the revision PostgreSQL gives it then, which is
  at least the crashed attempt's and inserted later, so the committed value wins (ties
  keep the last insert). No materialized view over `events`: it would fire on every
  insert and add a replayed block twice.
- `usage_unique` holds UNIQUE_COUNT meters' distinct values as uniqExact states, fed
  through materialized views from the Null table `usage_unique_value` (each hour's
  distinct values, per hour and day). Here a view per insert is safe: inserting a value
  twice leaves the set of values unchanged.
"""

from __future__ import annotations

__all__ = ["create_tables"]

_WINDOW_KEY = "ORDER BY (tenant_id, meter_slug, resolution, window_start, group_key)"
_RESOLUTION = "Enum8('minute' = 1, 'hour' = 2, 'day' = 3)"
_TRUNCATE = {"hour": "toStartOfHour", "day": "toStartOfDay"}  # minutes are read from raw events


def _statements(database: str) -> list[str]:
    statements = [
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
        f"""
        CREATE TABLE IF NOT EXISTS {database}.usage_rollup (
            tenant_id UUID,
            meter_slug LowCardinality(String),
            resolution {_RESOLUTION},
            window_start DateTime('UTC'),
            group_key String,
            aggregation LowCardinality(String),
            quantity Decimal128(9),
            event_count UInt64,
            latest_at DateTime64(6, 'UTC'),
            latest_id String,
            revision UInt64
        )
        ENGINE = ReplacingMergeTree(revision)
        PARTITION BY toYYYYMM(window_start)
        {_WINDOW_KEY}
        """,
        f"""
        CREATE TABLE IF NOT EXISTS {database}.usage_unique_value (
            tenant_id UUID,
            meter_slug String,
            group_key String,
            time DateTime('UTC'),
            value String
        )
        ENGINE = Null
        """,
        f"""
        CREATE TABLE IF NOT EXISTS {database}.usage_unique (
            tenant_id UUID,
            meter_slug LowCardinality(String),
            resolution {_RESOLUTION},
            window_start DateTime('UTC'),
            group_key String,
            uniques AggregateFunction(uniqExact, String)
        )
        ENGINE = AggregatingMergeTree
        PARTITION BY toYYYYMM(window_start)
        {_WINDOW_KEY}
        """,
    ]
    for resolution, truncate in _TRUNCATE.items():
        statements.append(f"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.usage_unique_{resolution}_mv TO {database}.usage_unique AS
        SELECT tenant_id, meter_slug, '{resolution}' AS resolution, {truncate}(time) AS window_start, group_key,
               uniqExactState(value) AS uniques
        FROM {database}.usage_unique_value
        GROUP BY tenant_id, meter_slug, window_start, group_key
        """)
    # Kept minute states until tenant_0900; the stream now sends values per hour.
    statements.append(f"DROP VIEW IF EXISTS {database}.usage_unique_minute_mv")
    return statements


def create_tables(client, database: str) -> None:
    for statement in _statements(database):
        client.command(statement)
