"""Reading a meter's usage: the range rules, the meter lookup among the caller's tenant's
meters, and "the store is unreachable" for any failure of the reader."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol

from metering import Meter, Resolution
from warehouse.postgres.database import Database
from warehouse.postgres.meters import get_meter

from ..domain_errors import DomainError, FieldProblem, InvalidInput, NotFound, Unavailable
from ..fields import EARLIEST_INSTANT

__all__ = ["MAX_SPAN", "MAX_MINUTE_SPAN", "DEFAULT_SPAN", "UsageReader", "UsagePointLike", "UsageSeriesLike",
           "usage_range", "tenant_meter", "read_usage"]

log = logging.getLogger(__name__)

MAX_SPAN = timedelta(days=366)
# Per-minute points over a long range would be a very large answer; coarser windows are not bounded further.
MAX_MINUTE_SPAN = timedelta(days=7)
DEFAULT_SPAN = timedelta(hours=24)


class UsagePointLike(Protocol):
    window_start: datetime
    quantity: Decimal
    event_count: int
    group: Mapping[str, str | None]


class UsageSeriesLike(Protocol):
    points: list[UsagePointLike]
    total_quantity: Decimal
    total_events: int


class UsageReader(Protocol):
    """What reading usage needs; warehouse.clickhouse.usage_reader.UsageReader and
    api.usage.postgres_source.PostgresUsageReader satisfy it."""

    def usage(self, meter: Meter, start: datetime, end: datetime, window: str = "hour") -> Awaitable[UsageSeriesLike]: ...


def _range_error(message: str, field: str, reason: str) -> InvalidInput:
    return InvalidInput(message, code="validation_error", problems=[FieldProblem(field, reason, "query")])


def usage_range(start: datetime | None, end: datetime | None, now: datetime,
                window: Resolution = "hour") -> tuple[datetime, datetime]:
    """The range to read: `to` defaults to now, `from` to 24 hours before `to`."""
    end = end or now
    start = start or end - DEFAULT_SPAN
    if start >= end:
        raise _range_error("`from` must be before `to`", "from", "must be before `to`")
    if start < EARLIEST_INSTANT:
        # Only `to` was given, close to the earliest instant: the default `from` is before
        # what the stores hold, and ClickHouse would fail (a 503 for a bad request).
        raise _range_error(f"`from` must not be before {EARLIEST_INSTANT.isoformat()}", "from",
                           f"not before {EARLIEST_INSTANT.isoformat()}")
    if end - start > MAX_SPAN:
        raise _range_error("the range may span at most 366 days", "to", "at most 366 days after `from`")
    if window == "minute" and end - start > MAX_MINUTE_SPAN:
        raise _range_error("per-minute usage may span at most 7 days", "window", "minute windows: at most 7 days")
    return start, end


async def tenant_meter(database: Database, tenant_id: uuid.UUID, slug: str) -> Meter:
    async with database.connect() as conn:
        meter = await get_meter(conn, tenant_id, slug)
    if meter is None:
        raise NotFound(f"no meter '{slug}' in your tenant", problems=[FieldProblem("meter", "unknown meter", "query")])
    return meter


async def read_usage(reader: UsageReader, source: Literal["clickhouse", "postgres"], meter: Meter,
                     start: datetime, end: datetime, window: Resolution) -> UsageSeriesLike:
    try:
        return await reader.usage(meter, start, end, window)
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the store is "unavailable" to the caller
        log.warning("usage read from %s failed: %s", source, exc)
        raise Unavailable(f"the usage store ({source}) is not reachable") from exc
