"""Reading a meter's usage: the range rules, the meter lookup among the caller's tenant's
meters, and "the store is unreachable" for any failure of the reader."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from stream.aggregation import Meter, Resolution
from warehouse.postgres.meters import list_meters

from ..auth import utcnow
from ..deps import UsageReader, UsageSeriesLike
from ..errors import ApiError

__all__ = ["MAX_SPAN", "MAX_MINUTE_SPAN", "DEFAULT_SPAN", "usage_range", "tenant_meter", "read_usage"]

log = logging.getLogger(__name__)

MAX_SPAN = timedelta(days=366)
# Per-minute points over a long range would be a very large answer; coarser windows are not bounded further.
MAX_MINUTE_SPAN = timedelta(days=7)
DEFAULT_SPAN = timedelta(hours=24)


def usage_range(start: datetime | None, end: datetime | None, window: Resolution = "hour") -> tuple[datetime, datetime]:
    end = end or utcnow()
    start = start or end - DEFAULT_SPAN
    if start >= end:
        raise ApiError(422, "`from` must be before `to`", code="validation_error",
                       details=[{"field": "from", "location": "query", "reason": "must be before `to`"}])
    if end - start > MAX_SPAN:
        raise ApiError(422, "the range may span at most 366 days", code="validation_error",
                       details=[{"field": "to", "location": "query", "reason": "at most 366 days after `from`"}])
    if window == "minute" and end - start > MAX_MINUTE_SPAN:
        raise ApiError(422, "per-minute usage may span at most 7 days", code="validation_error",
                       details=[{"field": "window", "location": "query", "reason": "minute windows: at most 7 days"}])
    return start, end


async def tenant_meter(engine: AsyncEngine, tenant_id: uuid.UUID, slug: str) -> Meter:
    async with engine.connect() as conn:
        for meter in await list_meters(conn, tenant_id):
            if meter.slug == slug:
                return meter
    raise ApiError(404, f"no meter '{slug}' in your tenant",
                   details=[{"field": "meter", "location": "query", "reason": "unknown meter"}])


async def read_usage(reader: UsageReader, source: Literal["clickhouse", "postgres"], meter: Meter,
                     start: datetime, end: datetime, window: Resolution) -> UsageSeriesLike:
    try:
        return await reader.usage(meter, start, end, window)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the store is "unavailable" to the caller
        log.warning("usage read from %s failed: %s", source, exc)
        raise ApiError(503, f"the usage store ({source}) is not reachable") from exc
