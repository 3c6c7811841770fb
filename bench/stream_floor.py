"""The floor pipeline (issue 16): only the I/O every design of the stream needs, over the
same preloaded topic, as a yardstick for `bench/stream.py`.

- consume the topic with a raw aiokafka consumer and decode every pack (orjson);
- insert each event's (tenant, id) into one PostgreSQL table whose only index is the
  unique (tenant, id): COPY into a temporary table, then INSERT ... SELECT ... ON CONFLICT
  DO NOTHING, one commit per batch (durable, as the dedup record is);
- insert the raw rows into ClickHouse in one bulk insert per batch (JSONEachRow, `data`
  kept as its text), while PostgreSQL works on the same batch.

No aggregation, no windows, no positions. It runs inside the bench's own process (its CPU
is this process's, children excluded). The bench's event ids and tenant ids hold no tab,
newline or backslash, so the COPY text needs no escaping (checked).
"""

from __future__ import annotations

import asyncio
import time

import orjson

BATCH_RECORDS = 200  # 100,000 events of 500-event packs per transaction
_CH_SETTINGS = {"input_format_json_read_objects_as_strings": 1, "input_format_skip_unknown_fields": 1,
                "date_time_input_format": "best_effort"}


def _ddl(table: str) -> list[str]:
    return [f"CREATE TABLE IF NOT EXISTS {table} (tenant_id UUID, id String, source String, type String, "
            "subject String, time DateTime64(6, 'UTC'), data String) ENGINE = MergeTree ORDER BY (tenant_id, id)"]


async def floor_pipeline(bootstrap: str, topic: str, expected_events: int, postgres_dsn: str, clickhouse,
                         database: str, run: str) -> tuple[float, int]:
    """(events/s, events) from the first fetch to the last batch committed in both stores."""
    import psycopg
    from aiokafka import AIOKafkaConsumer

    pg_table, ch_table = f"public.bench_floor_{run}", f"{database}.bench_floor_{run}"
    for statement in _ddl(ch_table):
        await asyncio.to_thread(clickhouse.command, statement)
    pg = await psycopg.AsyncConnection.connect(postgres_dsn)
    await pg.execute(f"CREATE TABLE IF NOT EXISTS {pg_table} (tenant_id uuid NOT NULL, event_id text NOT NULL, "
                     "PRIMARY KEY (tenant_id, event_id))")
    await pg.execute("CREATE TEMPORARY TABLE floor_staging (tenant_id uuid, event_id text) ON COMMIT DELETE ROWS")
    await pg.commit()

    async def to_postgres(copy_text: bytes) -> None:
        async with pg.cursor() as cursor:
            async with cursor.copy("COPY floor_staging (tenant_id, event_id) FROM STDIN") as copy:
                await copy.write(copy_text)
            await cursor.execute(f"INSERT INTO {pg_table} SELECT * FROM floor_staging ON CONFLICT DO NOTHING")
        await pg.commit()

    def to_clickhouse(rows: bytes) -> None:
        clickhouse.raw_insert(ch_table, None, rows, settings=_CH_SETTINGS, fmt="JSONEachRow")

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    seen, started = 0, None
    try:
        while seen < expected_events:
            batch = await consumer.getmany(timeout_ms=1000, max_records=BATCH_RECORDS)
            if started is None:
                started = time.perf_counter()
            keys, events = [], []
            for messages in batch.values():
                for message in messages:
                    pack = orjson.loads(message.value)
                    tenant = pack["tenant_id"]
                    for event in pack["events"]:
                        event["tenant_id"] = tenant
                        keys.append(f"{tenant}\t{event['id']}")
                    events.extend(pack["events"])
            if not events:
                continue
            copy_text = ("\n".join(keys) + "\n").encode()
            assert b"\\" not in copy_text and copy_text.count(b"\t") == len(keys)
            await asyncio.gather(to_postgres(copy_text), asyncio.to_thread(to_clickhouse, orjson.dumps(events)))
            seen += len(events)
    finally:
        await consumer.stop()
        await pg.close()
    return seen / (time.perf_counter() - started), seen
