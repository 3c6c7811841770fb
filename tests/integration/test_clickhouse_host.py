"""The embedded-ClickHouse host, through the client every process uses (real chDB behind it).

Values must come back as the chDB client itself returns them, and inserts must store
exactly what was passed: the sinks and readers cannot tell the host from a server.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from meterline.settings import Settings
from warehouse.clickhouse.client import open_clickhouse


@pytest.fixture(scope="module")
def clickhouse(stack: Settings):
    client = open_clickhouse(stack.clickhouse)
    yield client
    client.close()


_WIRE_TABLE = """
        CREATE TABLE {name} (
            id UInt32, at DateTime64(3, 'UTC'), at_local DateTime64(6, 'Europe/Paris'), day Date,
            amount Decimal128(9), tenant UUID, tags Array(String), maybe Nullable(Decimal(18, 4)),
            note Nullable(String), big UInt64, ratio Float64, props Map(String, Int64), pair Tuple(String, Int32)
        ) ENGINE = MergeTree ORDER BY id"""


@pytest.fixture
def table(clickhouse, stack: Settings):
    name = f"{stack.clickhouse.database}.wire_{uuid.uuid4().hex[:8]}"
    clickhouse.command(_WIRE_TABLE.format(name=name))
    yield name
    clickhouse.command(f"DROP TABLE {name}")


def test_values_round_trip_with_their_types(clickhouse, table):
    paris = ZoneInfo("Europe/Paris")
    rows = [
        [1, datetime(2026, 11, 25, 12, 0, 0, 123000, tzinfo=timezone.utc), datetime(2026, 3, 29, 3, 30, 0, 5, tzinfo=paris),
         date(2026, 2, 28), Decimal("12345678901234567890.123456789"), uuid.uuid4(), ["a", "b'c", "é"],
         Decimal("-0.0001"), None, 2**64 - 1, 0.1, {"k": -(2**63)}, ("x", -7)],
        [2, datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2026, 10, 25, 2, 30, tzinfo=paris), date(2000, 1, 1),
         Decimal("0.000000001"), uuid.uuid4(), [], None, "n", 0, float("inf"), {}, ("", 0)],
    ]
    columns = ["id", "at", "at_local", "day", "amount", "tenant", "tags", "maybe", "note", "big", "ratio", "props", "pair"]
    clickhouse.insert(table, rows, column_names=columns)
    result = clickhouse.query(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")

    # The reference: the same statements on the stock chDB client in this process (an
    # in-memory engine; the host holds the directory). Same values, same Python types.
    direct = clickhouse_connect.get_client(dsn="chdb://:memory:")
    direct.command("CREATE DATABASE IF NOT EXISTS meterline")
    direct.command(_WIRE_TABLE.format(name=table))
    direct.insert(table, rows, column_names=columns)
    expected = direct.query(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id")
    direct.close()

    assert list(result.column_names) == list(expected.column_names) == columns
    assert result.result_rows == list(expected.result_rows)
    for got, want in zip(result.result_rows, expected.result_rows):
        assert [type(v) for v in got] == [type(v) for v in want]
        assert [getattr(v, "tzinfo", None) for v in got] == [getattr(v, "tzinfo", None) for v in want]
    first = result.result_rows[0]
    # And they are the values inserted (a UTC DateTime64 comes back naive UTC, as from chDB).
    assert first[1].replace(tzinfo=timezone.utc) == rows[0][1] and first[2] == rows[0][2]
    assert list(first[3:]) == rows[0][3:]


def test_parameters_keep_their_types(clickhouse, table):
    tenant = uuid.uuid4()
    clickhouse.insert(table, [[i, datetime(2026, 1, 1, i, tzinfo=timezone.utc), datetime(2026, 1, 1, tzinfo=timezone.utc),
                               date(2026, 1, 1), Decimal(i), tenant, [], None, None, i, 0.0, {}, ("", 0)]
                              for i in range(5)],
                      column_names=["id", "at", "at_local", "day", "amount", "tenant", "tags", "maybe", "note", "big",
                                    "ratio", "props", "pair"])
    (count, total), = clickhouse.query(
        f"SELECT count(), sum(amount) FROM {table} WHERE tenant = {{tenant:UUID}} AND at >= {{start:DateTime64(3)}}"
        " AND id IN {ids:Array(UInt32)}",
        parameters={"tenant": tenant, "start": datetime(2026, 1, 1, 2, tzinfo=timezone.utc), "ids": [1, 2, 3, 4]},
    ).result_rows
    assert (count, total) == (3, Decimal(9))


def test_insert_deduplication_token_is_applied_by_the_engine(clickhouse, stack: Settings):
    name = f"{stack.clickhouse.database}.dedup_{uuid.uuid4().hex[:8]}"
    clickhouse.command(f"CREATE TABLE {name} (id UInt32) ENGINE = MergeTree ORDER BY id "
                       "SETTINGS non_replicated_deduplication_window = 100")
    try:
        for _ in range(3):
            clickhouse.insert(name, [[1], [2]], column_names=["id"], settings={"insert_deduplication_token": "batch-1"})
        clickhouse.insert(name, [[1], [2]], column_names=["id"], settings={"insert_deduplication_token": "batch-2"})
        assert clickhouse.command(f"SELECT count() FROM {name}") == 4
    finally:
        clickhouse.command(f"DROP TABLE {name}")


def test_engine_errors_reach_the_caller_as_clickhouse_errors(clickhouse):
    with pytest.raises(DatabaseError, match="UNKNOWN_TABLE|does not exist"):
        clickhouse.query("SELECT * FROM meterline.no_such_table")
    # The host survives the error and answers the next call.
    assert clickhouse.query("SELECT 1 + {n:UInt8}", parameters={"n": 1}).result_rows == [(2,)]


def test_raw_insert_rows_in_an_input_format(clickhouse, table):
    """The stream's bulk path: JSONCompactEachRow bytes that the engine parses, with
    ISO 8601 times (best_effort), Decimals as text and a JSON object kept as its text."""
    import orjson

    tenant = uuid.uuid4()
    at = datetime(2026, 11, 25, 12, 0, 0, 123000, tzinfo=timezone.utc)
    rows = [[1, at, Decimal("12.500000001"), tenant, {"tokens": 5, "s": "a\"b\né"}],
            [2, at.replace(microsecond=0), Decimal("-0.000000001"), tenant, {}]]
    block = b"\n".join(orjson.dumps(row, default=str) for row in rows)
    clickhouse.raw_insert(table, ["id", "at", "amount", "tenant", "note"], block, fmt="JSONCompactEachRow",
                          settings={"date_time_input_format": "best_effort",
                                    "input_format_json_read_objects_as_strings": 1})
    result = clickhouse.query(f"SELECT id, at, amount, tenant, note FROM {table} ORDER BY id").result_rows
    assert [(i, a.replace(tzinfo=timezone.utc), amount, t, note) for i, a, amount, t, note in result] == [
        (1, at, Decimal("12.500000001"), tenant, '{"tokens":5,"s":"a\\"b\\né"}'),
        (2, at.replace(microsecond=0), Decimal("-0.000000001"), tenant, "{}"),
    ]


def test_raw_insert_error_comes_back_as_a_database_error(clickhouse, table):
    with pytest.raises(DatabaseError):
        clickhouse.raw_insert(table, ["id", "at"], b'["not a number", "2026-01-01"]', fmt="JSONCompactEachRow")
