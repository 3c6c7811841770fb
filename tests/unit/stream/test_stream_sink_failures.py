"""Driver errors to ours (stream/sinks/failures.py): an outage retries, data is isolated."""

from __future__ import annotations

import decimal

import psycopg
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from sqlalchemy.exc import DataError, DBAPIError

from stream.sinks.failures import SinkUnavailable, UnwritableData, classify


def _pg(sqlstate: str | None, message: str, invalidated: bool = False) -> DBAPIError:
    orig = psycopg.errors.lookup(sqlstate)(message) if sqlstate else psycopg.OperationalError(message)
    return DBAPIError("INSERT ... secret statement", {"events": "other tenant data"}, orig,
                      connection_invalidated=invalidated)


CASES = [
    ("pg NUL in text", _pg("22P05", "unsupported Unicode escape sequence"), UnwritableData),
    ("pg numeric overflow", _pg("22003", "numeric field overflow"), UnwritableData),
    ("pg invalid text", _pg("22021", "invalid byte sequence"), UnwritableData),
    ("pg check violation", _pg("23514", "violates check constraint"), UnwritableData),
    ("pg row too big", _pg("54000", "index row size exceeds maximum"), UnwritableData),
    ("pg unique race", _pg("23505", "duplicate key value"), SinkUnavailable),
    ("pg connection refused", _pg(None, "connection refused"), SinkUnavailable),
    ("pg driver refuses a NUL", DataError("INSERT", {}, psycopg.DataError("PostgreSQL text fields cannot contain NUL")),
     UnwritableData),
    ("pg admin shutdown", _pg("57P01", "terminating connection due to administrator command"), SinkUnavailable),
    ("pg deadlock", _pg("40P01", "deadlock detected"), SinkUnavailable),
    ("pg connection lost mid-statement", _pg("22003", "overflow", invalidated=True), SinkUnavailable),
    ("ch too many digits", DatabaseError("Code: 69. DB::Exception: Too many digits (41 > 38) in decimal value"),
     UnwritableData),
    ("ch parse", DatabaseError("Code: 27. DB::Exception: Cannot parse input"), UnwritableData),
    ("ch decimal overflow", DatabaseError("Code: 407. DB::Exception: Decimal math overflow"), UnwritableData),
    ("ch memory", DatabaseError("Code: 241. DB::Exception: Memory limit exceeded"), SinkUnavailable),
    ("ch host unreachable", OperationalError("the embedded ClickHouse host is not reachable"), SinkUnavailable),
    ("decimal invalid operation", decimal.InvalidOperation("[<class 'decimal.InvalidOperation'>]"), UnwritableData),
    ("connection reset", ConnectionResetError("reset by peer"), SinkUnavailable),
    ("timeout", TimeoutError("timed out"), SinkUnavailable),
    ("unknown error: treated as an outage", RuntimeError("surprise"), SinkUnavailable),
    ("already ours", UnwritableData("window sum"), UnwritableData),
]


@pytest.mark.parametrize("name, error, expected", CASES, ids=[c[0] for c in CASES])
def test_classification(name, error, expected):
    assert type(classify(error)) is expected


def test_postgres_reason_keeps_the_statement_and_parameters_out():
    reason = classify(_pg("22P05", "unsupported Unicode escape sequence")).reason
    assert reason.startswith("PostgreSQL 22P05: unsupported Unicode escape sequence")
    assert "other tenant data" not in reason and "secret statement" not in reason


def test_reasons_are_bounded():
    assert len(classify(DatabaseError("Code: 27. " + "x" * 5000)).reason) <= 300
