"""Per-tenant usage in PostgreSQL: the dedup record and hourly windows, written together.

The stream may deliver an event more than once (a crash, a rebalance); it is counted
by the one transaction that inserts its id into processed_event, so replays change
nothing. Usage deltas are merged into the minute, hour and day windows in that same
transaction (usage_minute, usage_hourly, usage_daily), each row per meter and group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import orjson
from sqlalchemy import (
    BigInteger, Column, Connection, DateTime, Integer, MetaData, Numeric, String, Table, Text, func, select, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from metering import NO_GROUP, UsageDelta
from metering.aggregations import registered
from warehouse.tenancy import TENANT_SCHEMA_PLACEHOLDER

from .tables import invoice, processed_event, usage_hourly

__all__ = [
    "claim_new_events", "add_usage", "upsert_usage", "WindowRow", "usage_for_period", "usage_hours", "usage_windows",
    # the stream's ledger
    "dead_letter", "duplicate_tally", "usage_correction", "stream_position",
    "DeadLetterRecord", "CorrectionRecord", "PartitionPosition", "InvoicedPeriod",
    "load_positions", "save_positions", "list_positions", "invoiced_periods", "add_corrections",
    "add_dead_letters", "add_duplicates", "prune_processed_events",
    "list_dead_letters", "duplicate_counts", "pending_corrections",
]


def _in(conn: AsyncConnection, schema_name: str):
    return conn.execution_options(schema_translate_map={"tenant": schema_name})


async def claim_new_events(conn: AsyncConnection, schema_name: str,
                           events: Sequence[tuple[str, datetime]]) -> set[str]:
    """Insert (id, time) pairs into the dedup record; returns the ids that were not there yet."""
    if not events:
        return set()
    # One JSON text parameter, not a VALUES row per event nor array parameters: orjson
    # writes it in C, where psycopg dumped arrays element by element in Python (~12% of
    # the worker), and the statement stays one short string.
    statement = text(
        f'INSERT INTO "{schema_name}".processed_event (event_id, event_time) '
        "SELECT e->>0, CAST(e->>1 AS timestamptz) FROM json_array_elements(CAST(:events AS json)) AS e "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    )
    result = await conn.execute(statement, {"events": orjson.dumps(events).decode()})
    return set(result.scalars())


async def committed_among(conn: AsyncConnection, schema_name: str, events: Sequence[tuple[str, datetime]],
                          horizon: timedelta) -> set[int]:
    """Positions in `events` ((id, time) pairs read from ClickHouse's raw table) of the
    events a committed batch counted: their dedup record holds that id with that time.
    Raw rows of a batch killed before its commit have no record yet (its replay claims
    them) or one with another copy's time. Records are pruned beyond the horizon, and only
    committed batches' raw rows are that old, so older events count without one
    (statement_timestamp: a prune committed before this statement used an earlier cutoff).
    Times match to the millisecond: ClickHouse keeps milliseconds, the record microseconds."""
    if not events:
        return set()
    result = await conn.execute(text(
        "SELECT e.n - 1 FROM json_array_elements(CAST(:events AS json)) WITH ORDINALITY AS e(v, n) "
        "WHERE CAST(e.v->>1 AS timestamptz) < statement_timestamp() - CAST(:horizon AS interval) "
        f'OR EXISTS (SELECT 1 FROM "{schema_name}".processed_event AS p '
        "WHERE p.event_id = e.v->>0 AND p.event_time > CAST(e.v->>1 AS timestamptz) - interval '1 millisecond' "
        "AND p.event_time < CAST(e.v->>1 AS timestamptz) + interval '1 millisecond')"),
        {"events": orjson.dumps(events).decode(), "horizon": f"{int(horizon.total_seconds())} seconds"})
    return set(result.scalars())


_WINDOW_TABLES = {"minute": "usage_minute", "hour": "usage_hourly", "day": "usage_daily"}

# How a window's row absorbs a new delta: each aggregation's own fragment
# (metering.aggregations, the same rules as its `add` and `merge`), chosen by the row's
# aggregation; rows of a name no class answers to add up, as SUM's.
_QUANTITY = ("CASE t.aggregation "
             + " ".join(f"WHEN '{kind.name}' THEN {kind.postgres_merge}" for kind in registered())
             + " ELSE t.quantity + excluded.quantity END")
_NEWER = ('(excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C")')
_MERGE = f"""
    ON CONFLICT (meter_slug, window_start, group_key) DO UPDATE SET
        quantity = {_QUANTITY},
        latest_at = CASE WHEN t.latest_at IS NULL OR {_NEWER} THEN excluded.latest_at ELSE t.latest_at END,
        latest_id = CASE WHEN t.latest_at IS NULL OR {_NEWER} THEN excluded.latest_id ELSE t.latest_id END,
        event_count = t.event_count + excluded.event_count,
        revision = t.revision + 1,
        updated_at = now()
    RETURNING t.meter_slug, t.group_key, t.window_start, t.aggregation, t.quantity, t.event_count,
              t.latest_at, t.latest_id, t.revision"""


class WindowRow(NamedTuple):
    """A usage window as committed: absolute values and the row's revision. A NamedTuple:
    the stream gets about one per event back from its upserts."""

    resolution: str
    meter_slug: str
    group_key: str
    window_start: datetime
    aggregation: str
    quantity: Decimal
    event_count: int
    latest_at: datetime | None
    latest_id: str | None
    revision: int


def _upsert_statement(schema_name: str) -> str:
    writes = []
    for resolution, table in _WINDOW_TABLES.items():
        writes.append(f"""w_{resolution} AS (
            INSERT INTO "{schema_name}".{table} AS t
                (meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id)
            SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id
            FROM input WHERE res = '{resolution}'{_MERGE})""")
    reads = " UNION ALL ".join(f"SELECT '{r}'::text, * FROM w_{r}" for r in _WINDOW_TABLES)
    return (
        "WITH input AS (SELECT e->>0 AS res, e->>1 AS meter_slug, e->>2 AS group_key, "
        "CAST(e->>3 AS timestamptz) AS window_start, e->>4 AS aggregation, CAST(e->>5 AS numeric) AS quantity, "
        "CAST(e->>6 AS bigint) AS event_count, CAST(e->>7 AS timestamptz) AS latest_at, e->>8 AS latest_id "
        "FROM json_array_elements(CAST(:rows AS json)) AS e), "
        + ", ".join(writes) + " " + reads
    )


async def upsert_usage(conn: AsyncConnection, schema_name: str,
                       rows: Sequence[tuple[str, str, str, datetime, str, UsageDelta]]) -> list[WindowRow]:
    """rows: (resolution, meter slug, group key, window start, aggregation, delta), one per
    window. Merges each delta into its window and returns the windows as committed,
    with their revisions: what the ClickHouse rollups copy (stream/sinks/postgres.py).

    One statement for the three window tables (data-modifying CTEs): one round trip per
    tenant and batch, whatever the number of windows."""
    if not rows:
        return []
    # One JSON text parameter (see claim_new_events); quantities as exact decimal text.
    payload = orjson.dumps([(resolution, slug, group, window, aggregation, str(d.quantity), d.event_count,
                             d.latest_at, d.latest_id) for resolution, slug, group, window, aggregation, d in rows])
    result = await conn.execute(text(_upsert_statement(schema_name)), {"rows": payload.decode()})
    # psycopg already gives numeric as Decimal and bigint as int.
    return [WindowRow(*r) for r in result]


async def add_usage(conn: AsyncConnection, schema_name: str,
                    deltas: Iterable[tuple[str, datetime, UsageDelta]]) -> list[WindowRow]:
    """Additive hourly usage without groups, as billing tests seed it."""
    return await upsert_usage(conn, schema_name, [("hour", slug, NO_GROUP, window, "SUM", d)
                                                  for slug, window, d in deltas])


def usage_for_period(conn: Connection, schema_name: str, start: datetime, end: datetime) -> dict[str, Decimal]:
    """Total quantity per meter for [start, end): what an invoice bills."""
    tconn = conn.execution_options(schema_translate_map={"tenant": schema_name})
    rows = tconn.execute(
        select(usage_hourly.c.meter_slug, func.sum(usage_hourly.c.quantity))
        .where(usage_hourly.c.window_start >= start, usage_hourly.c.window_start < end)
        .group_by(usage_hourly.c.meter_slug)
    )
    return {slug: Decimal(total) for slug, total in rows}


async def usage_hours(conn: AsyncConnection, schema_name: str, meter_slug: str,
                      start: datetime, end: datetime) -> list[tuple[datetime, Decimal, int]]:
    """Per hour, summed over groups: the usage of an additive (COUNT, SUM) meter."""
    tconn = await _in(conn, schema_name)
    rows = await tconn.execute(
        select(usage_hourly.c.window_start, func.sum(usage_hourly.c.quantity), func.sum(usage_hourly.c.event_count))
        .where(usage_hourly.c.meter_slug == meter_slug, usage_hourly.c.window_start >= start,
               usage_hourly.c.window_start < end)
        .group_by(usage_hourly.c.window_start)
        .order_by(usage_hourly.c.window_start)
    )
    return [(w, Decimal(q), int(c)) for w, q, c in rows]


async def usage_windows(conn: AsyncConnection, schema_name: str, meter_slug: str, start: datetime, end: datetime,
                        resolution: str = "hour") -> list[WindowRow]:
    """Every (window, group) row of one meter in [start, end), at one resolution."""
    result = await conn.execute(text(
        f'SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id, '
        f'revision FROM "{schema_name}".{_WINDOW_TABLES[resolution]} '
        "WHERE meter_slug = :slug AND window_start >= :start AND window_start < :end ORDER BY window_start, group_key"
    ), {"slug": meter_slug, "start": start, "end": end})
    return [WindowRow(resolution, r[0], r[1], r[2], r[3], Decimal(r[4]), int(r[5]), r[6], r[7], int(r[8]))
            for r in result]


# --- The stream's ledger (tenant_0002, shared_0002) ---------------------------------
# Declared here rather than in tables.py so the stream's tables stay with their writer;
# own MetaData objects keep them out of anything that walks tables.py's metadata.

_ledger_tenant = MetaData(schema=TENANT_SCHEMA_PLACEHOLDER)
_ledger_shared = MetaData(schema="public")

dead_letter = Table(
    "dead_letter", _ledger_tenant,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", String(256), nullable=False),
    Column("meter_slug", String(64), nullable=False, server_default=""),
    Column("reason", Text, nullable=False),
    Column("event", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

duplicate_tally = Table(
    "duplicate_tally", _ledger_tenant,
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("event_count", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

usage_correction = Table(
    "usage_correction", _ledger_tenant,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("invoice_number", String(64), nullable=False),
    Column("meter_slug", String(64), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("quantity", Numeric, nullable=False),
    Column("event_count", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("applied_invoice_number", String(64)),
    # "delta" (COUNT, SUM: late units) or "restate" (MAX, LATEST: bill the meter again; the
    # amount it billed is kept once applied): billing_jobs.corrections.
    Column("kind", String(16), nullable=False, server_default="delta"),
    Column("amount_minor", BigInteger),
)

stream_position = Table(
    "stream_position", _ledger_shared,
    Column("consumer_group", Text, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("record_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


@dataclass(frozen=True)
class DeadLetterRecord:
    id: int
    event_id: str
    meter_slug: str
    reason: str
    event: dict
    created_at: datetime


@dataclass(frozen=True)
class CorrectionRecord:
    invoice_number: str
    meter_slug: str
    window_start: datetime
    quantity: Decimal
    event_count: int
    updated_at: datetime
    kind: str = "delta"  # or "restate" (MAX, LATEST: quantity 0, window = the invoice's period start)


@dataclass(frozen=True)
class PartitionPosition:
    topic: str
    partition: int
    next_offset: int
    record_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class InvoicedPeriod:
    number: str
    start: datetime
    end: datetime


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


async def invoiced_periods(conn: AsyncConnection, schema_name: str, since: datetime) -> list[InvoicedPeriod]:
    """Issued invoices (not draft, not void) whose period ends after `since`."""
    tconn = await _in(conn, schema_name)
    rows = await tconn.execute(
        select(invoice.c.number, invoice.c.period_start, invoice.c.period_end)
        .where(invoice.c.status.notin_(("draft", "void")), invoice.c.period_end > since.date())
    )
    return [InvoicedPeriod(number, _midnight(start), _midnight(end)) for number, start, end in rows]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


async def add_corrections(conn: AsyncConnection, schema_name: str,
                          rows: Iterable[tuple[str, str, datetime, Decimal, int, str]]) -> None:
    """rows: (invoice number, meter, window, quantity, event count, kind), as
    billing_jobs.corrections.late_usage_corrections gives them; each is added to its pending
    correction (a restatement adds events, no units)."""
    values = [{"invoice_number": number, "meter_slug": slug, "window_start": window,
               "quantity": quantity, "event_count": events, "kind": kind}
              for number, slug, window, quantity, events, kind in rows]
    if not values:
        return
    statement = pg_insert(usage_correction).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["invoice_number", "meter_slug", "window_start", "kind"],
        index_where=usage_correction.c.applied_invoice_number.is_(None),
        set_={"quantity": usage_correction.c.quantity + statement.excluded.quantity,
              "event_count": usage_correction.c.event_count + statement.excluded.event_count,
              "updated_at": func.now()},
    )
    await (await _in(conn, schema_name)).execute(statement)


async def add_dead_letters(conn: AsyncConnection, schema_name: str,
                           rows: Iterable[tuple[str, str, str, dict]]) -> None:
    """rows: (event id, meter slug or "", reason, the event as JSON)."""
    values = [{"event_id": event_id, "meter_slug": slug, "reason": reason, "event": event}
              for event_id, slug, reason, event in rows]
    if not values:
        return
    statement = pg_insert(dead_letter).values(values).on_conflict_do_nothing(index_elements=["event_id", "meter_slug"])
    await (await _in(conn, schema_name)).execute(statement)


async def add_duplicates(conn: AsyncConnection, schema_name: str, window_start: datetime, count: int) -> None:
    if count <= 0:
        return
    statement = pg_insert(duplicate_tally).values(window_start=window_start, event_count=count)
    statement = statement.on_conflict_do_update(
        index_elements=["window_start"],
        set_={"event_count": duplicate_tally.c.event_count + statement.excluded.event_count, "updated_at": func.now()},
    )
    await (await _in(conn, schema_name)).execute(statement)


async def prune_processed_events(conn: AsyncConnection, schema_name: str, before: datetime, chunk: int) -> int:
    """Delete at most `chunk` dedup records older than `before`; returns how many went."""
    result = await (await _in(conn, schema_name)).execute(text(
        f'DELETE FROM "{schema_name}".processed_event WHERE ctid = ANY(ARRAY('
        f'SELECT ctid FROM "{schema_name}".processed_event WHERE event_time < :before LIMIT :chunk))'
    ), {"before": before, "chunk": chunk})
    return result.rowcount


# Readers for the admin API (all take a connection and the tenant's schema).

async def list_dead_letters(conn: AsyncConnection, schema_name: str, limit: int = 100,
                            before_id: int | None = None) -> list[DeadLetterRecord]:
    """Newest first; page with `before_id` = the last id of the previous page."""
    query = select(dead_letter).order_by(dead_letter.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(dead_letter.c.id < before_id)
    rows = await (await _in(conn, schema_name)).execute(query)
    return [DeadLetterRecord(r.id, r.event_id, r.meter_slug, r.reason, r.event, r.created_at) for r in rows]


async def duplicate_counts(conn: AsyncConnection, schema_name: str, start: datetime,
                           end: datetime) -> list[tuple[datetime, int]]:
    """Duplicates dropped per minute in [start, end), by when the stream saw them."""
    rows = await (await _in(conn, schema_name)).execute(
        select(duplicate_tally.c.window_start, duplicate_tally.c.event_count)
        .where(duplicate_tally.c.window_start >= start, duplicate_tally.c.window_start < end)
        .order_by(duplicate_tally.c.window_start)
    )
    return [(w, int(c)) for w, c in rows]


async def pending_corrections(conn: AsyncConnection, schema_name: str) -> list[CorrectionRecord]:
    """Usage for already-invoiced periods that no invoice has billed yet."""
    rows = await (await _in(conn, schema_name)).execute(
        select(usage_correction.c.invoice_number, usage_correction.c.meter_slug, usage_correction.c.window_start,
               usage_correction.c.quantity, usage_correction.c.event_count, usage_correction.c.updated_at,
               usage_correction.c.kind)
        .where(usage_correction.c.applied_invoice_number.is_(None))
        .order_by(usage_correction.c.window_start, usage_correction.c.meter_slug)
    )
    return [CorrectionRecord(n, s, w, Decimal(q), int(c), u, k) for n, s, w, q, c, u, k in rows]
