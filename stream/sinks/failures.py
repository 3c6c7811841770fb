"""Why a sink write failed: the store is away (retry the batch) or the data cannot be stored.

The drivers' errors are translated here, at the edge, into two of ours:

- ``SinkUnavailable``: connection refused or reset, timeouts, a server shutting down,
  lock conflicts, resources exhausted. Nothing is wrong with the events: the agent
  retries the whole batch with backoff until the store is back.
- ``UnwritableData``: the store refused what it was given (PostgreSQL's data exceptions,
  ClickHouse's parse, type and range errors, a window sum beyond what the stores hold).
  Retrying cannot help: the agent splits the batch to find the events that cause it and
  dead-letters them (stream/isolation.py).

An error neither list knows is treated as an outage: a stall is visible (lag, sink
failure metric) and recoverable, while dead-lettering events during an outage would
drop them from invoices. The lists grow when a new data error is seen.
"""

from __future__ import annotations

import decimal
import re

from clickhouse_connect.driver.exceptions import DatabaseError as ClickHouseEngineError
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseUnreachable
from sqlalchemy.exc import DataError as DriverDataError
from sqlalchemy.exc import DBAPIError

__all__ = ["SinkUnavailable", "UnwritableData", "MetersStale", "classify", "postgres_failure", "clickhouse_failure"]

# The longest store message kept as a dead letter's reason.
MAX_REASON_CHARS = 300


class SinkUnavailable(Exception):
    """The store cannot be written now; the same batch will succeed later."""


class MetersStale(Exception):
    """The batch's meters must be reloaded before it is written: too old, a tenant the cache
    has not looked up, or a meter another worker backfilled. Not a failure: the worker
    reloads them while none of its batches is being written (stream/meters.py says why),
    and writes the batch again."""

    def __init__(self, tenant_ids=frozenset()) -> None:
        super().__init__("meters to reload first")
        self.tenant_ids = frozenset(tenant_ids)


class UnwritableData(Exception):
    """Something in the batch can never be stored. `reason` is what the store said."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:MAX_REASON_CHARS]


# SQLSTATE classes (first two characters) caused by the values written: data exceptions
# (22: invalid text, NUL bytes, numeric overflow, bad JSON), integrity (23, except the
# unique violation a concurrent writer can cause), program limits (54: a row too large).
_POSTGRES_DATA_CLASSES = {"22", "23", "54"}
_POSTGRES_RETRYABLE = {"23505"}  # unique_violation: two workers raced on one key; the retry sees it

# ClickHouse error codes caused by the rows inserted (src/Common/ErrorCodes.cpp).
_CLICKHOUSE_DATA_CODES = {
    6,    # CANNOT_PARSE_TEXT
    26,   # CANNOT_PARSE_QUOTED_STRING
    27,   # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    32,   # ATTEMPT_TO_READ_AFTER_EOF
    38,   # CANNOT_PARSE_DATE
    41,   # CANNOT_PARSE_DATETIME
    53,   # TYPE_MISMATCH
    69,   # ARGUMENT_OUT_OF_BOUND ("Too many digits" in a Decimal)
    70,   # CANNOT_CONVERT_TYPE
    72,   # CANNOT_PARSE_NUMBER
    117,  # INCORRECT_DATA
    131,  # TOO_LARGE_STRING_SIZE
    407,  # DECIMAL_OVERFLOW
}
_CLICKHOUSE_DATA_TEXT = ("Too many digits", "Cannot parse", "Decimal overflow", "out of bounds")
_CODE = re.compile(r"Code:\s*(\d+)")


def _first_line(text: str) -> str:
    return " ".join(text.strip().splitlines()[:1])[:MAX_REASON_CHARS]


def postgres_failure(exc: BaseException) -> Exception | None:
    """Our error for a PostgreSQL driver error, None when `exc` is not one."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or ""
    if not sqlstate and isinstance(exc, DriverDataError) and not exc.connection_invalidated:
        # Refused by the driver before sending (psycopg: "PostgreSQL text fields cannot
        # contain NUL (0x00) bytes"): no SQLSTATE, but the value's doing.
        return UnwritableData(f"PostgreSQL driver: {_first_line(str(orig))}")
    if exc.connection_invalidated or not sqlstate:
        return SinkUnavailable(f"PostgreSQL: {_first_line(str(orig))}")
    if sqlstate[:2] in _POSTGRES_DATA_CLASSES and sqlstate not in _POSTGRES_RETRYABLE:
        # The primary message and its detail only: the statement and its parameters (other
        # events of the batch, maybe other tenants') stay out of the reason.
        diag = getattr(orig, "diag", None)
        primary = getattr(diag, "message_primary", None) or _first_line(str(orig))
        detail = getattr(diag, "message_detail", None)
        return UnwritableData(f"PostgreSQL {sqlstate}: {primary}" + (f" ({detail})" if detail else ""))
    return SinkUnavailable(f"PostgreSQL {sqlstate}: {_first_line(str(orig))}")


def clickhouse_failure(exc: BaseException) -> Exception | None:
    """Our error for a ClickHouse client error, None when `exc` is not one."""
    if isinstance(exc, ClickHouseUnreachable):
        return SinkUnavailable(f"ClickHouse: {_first_line(str(exc))}")
    if not isinstance(exc, ClickHouseEngineError):
        return None
    message = str(exc)
    code = _CODE.search(message)
    if (code and int(code.group(1)) in _CLICKHOUSE_DATA_CODES) or any(t in message for t in _CLICKHOUSE_DATA_TEXT):
        # The engine's message names the failing value and may quote its row; the reason is
        # only ever recorded for a single isolated event, so it holds that event's own data.
        return UnwritableData(f"ClickHouse: {_clickhouse_summary(message)}")
    return SinkUnavailable(f"ClickHouse: {_first_line(message)}")


def _clickhouse_summary(message: str) -> str:
    start = message.find("Code:")
    return _first_line(message[start:] if start >= 0 else message)


def classify(exc: BaseException) -> Exception:
    """SinkUnavailable or UnwritableData for any error a sink write raised (MetersStale as it is)."""
    if isinstance(exc, SinkUnavailable | UnwritableData | MetersStale):
        return exc
    translated = postgres_failure(exc) or clickhouse_failure(exc)
    if translated is not None:
        return translated
    if isinstance(exc, decimal.DecimalException | UnicodeError):
        # Raised by our own code on a value (a Decimal beyond the context, text that will
        # not encode): the event's doing, not the store's.
        return UnwritableData(f"{type(exc).__name__}: {_first_line(str(exc))}")
    if isinstance(exc, OSError | TimeoutError):
        return SinkUnavailable(f"{type(exc).__name__}: {_first_line(str(exc))}")
    return SinkUnavailable(f"unexpected {type(exc).__name__}: {_first_line(str(exc))}")
