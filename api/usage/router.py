"""Usage of one of the caller's tenant's meters, per minute, hour or day, with its total.

The meter is looked up among the caller's tenant's meters (from the token), and
the reader is handed that Meter, whose tenant_id scopes its query: another
tenant's slug is simply unknown here (404), even when that tenant has one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from metering import Meter, Resolution
from warehouse.postgres.meters import list_meters

from ..auth import Principal, utcnow
from ..deps import CurrentPrincipal, EngineDep, UsageReader, UsageReaderDep
from ..errors import ApiError
from ..fields import ResourceSlug
from .postgres_source import PostgresUsageReader
from .schemas import UsagePointPublic, UsagePublic

router = APIRouter(prefix="/v1/usage", tags=["usage"])
log = logging.getLogger(__name__)

MAX_SPAN = timedelta(days=366)
# Per-minute points over a long range would be a very large answer; coarser windows are not bounded further.
MAX_MINUTE_SPAN = timedelta(days=7)
DEFAULT_SPAN = timedelta(hours=24)

MeterQuery = Annotated[ResourceSlug, Query(description="The meter's slug")]
FromQuery = Annotated[AwareDatetime | None, Query(alias="from", description="Inclusive, RFC 3339 with offset; "
                                                                           "default: `to` minus 24 hours")]
ToQuery = Annotated[AwareDatetime | None, Query(alias="to", description="Exclusive, RFC 3339 with offset; default: now")]
WindowQuery = Annotated[Resolution, Query(description="Size of each point's window (UTC)")]


def _range(start: datetime | None, end: datetime | None, window: Resolution = "hour") -> tuple[datetime, datetime]:
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


async def _meter(engine, principal: Principal, slug: str) -> Meter:
    async with engine.connect() as conn:
        for meter in await list_meters(conn, principal.tenant_id):
            if meter.slug == slug:
                return meter
    raise ApiError(404, f"no meter '{slug}' in your tenant",
                   details=[{"field": "meter", "location": "query", "reason": "unknown meter"}])


async def _usage(reader: UsageReader, source: Literal["clickhouse", "postgres"], meter: Meter,
                 start: datetime, end: datetime, window: Resolution) -> UsagePublic:
    try:
        result = await reader.usage(meter, start, end, window)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the store is "unavailable" to the caller
        log.warning("usage read from %s failed: %s", source, exc)
        raise ApiError(503, f"the usage store ({source}) is not reachable") from exc
    return UsagePublic(
        meter=meter.slug, aggregation=meter.aggregation, source=source, window=window, start=start, end=end,
        total_quantity=result.total_quantity, total_events=result.total_events,
        points=[UsagePointPublic(window_start=p.window_start, group=dict(p.group), quantity=Decimal(p.quantity),
                                 event_count=int(p.event_count)) for p in result.points],
    )


@router.get("", response_model=UsagePublic, response_model_by_alias=True)
async def usage(principal: CurrentPrincipal, engine: EngineDep, reader: UsageReaderDep, meter: MeterQuery,
                start: FromQuery = None, end: ToQuery = None, window: WindowQuery = "hour") -> UsagePublic:
    """Usage from the analytics store (ClickHouse): rollups when they cover the range, raw events otherwise."""
    start, end = _range(start, end, window)
    source = getattr(reader, "source", "clickhouse")
    return await _usage(reader, source, await _meter(engine, principal, meter), start, end, window)


@router.get("/hourly", response_model=UsagePublic, response_model_by_alias=True)
async def usage_hourly(principal: CurrentPrincipal, engine: EngineDep, meter: MeterQuery,
                       start: FromQuery = None, end: ToQuery = None,
                       source: Annotated[Literal["postgres"], Query()] = "postgres") -> UsagePublic:
    """Hourly usage from the billing store (the tenant's PostgreSQL schema): what invoices are computed from."""
    start, end = _range(start, end)
    return await _usage(PostgresUsageReader(engine), source, await _meter(engine, principal, meter), start, end,
                        "hour")
