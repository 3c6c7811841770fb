"""Usage of one of the caller's tenant's meters, per minute, hour or day, with its total.

The meter is looked up among the caller's tenant's meters (from the token), and
the reader is handed that Meter, whose tenant_id scopes its query: another
tenant's slug is simply unknown here (404), even when that tenant has one.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from metering import Meter, Resolution

from ..auth import utcnow
from ..deps import CurrentPrincipal, DatabaseDep
from ..errors import error_responses
from ..fields import Instant, ResourceSlug
from . import service
from .deps import PostgresUsageReaderDep, UsageReaderDep
from .query_deps import WatermarkDep
from .watermark import WatermarkSource
from .schemas import UsagePointPublic, UsagePublic
from .service import UsageReader

router = APIRouter(prefix="/v1/usage", tags=["usage"],
                   responses=error_responses(401, (404, "No meter with this slug in your tenant"), 503))

MeterQuery = Annotated[ResourceSlug, Query(description="The meter's slug")]
FromQuery = Annotated[Instant | None, Query(alias="from", description="Inclusive, RFC 3339 with offset; "
                                                                           "default: `to` minus 24 hours")]
ToQuery = Annotated[Instant | None, Query(alias="to", description="Exclusive, RFC 3339 with offset; default: now")]
WindowQuery = Annotated[Resolution, Query(description="Size of each point's window (UTC)")]


async def _usage(reader: UsageReader, source: Literal["clickhouse", "postgres"], meter: Meter,
                 start: datetime, end: datetime, window: Resolution, watermarks: WatermarkSource) -> UsagePublic:
    # The watermark first: what it claims was applied before the usage was read.
    watermark = await watermarks.watermark()
    result = await service.read_usage(reader, source, meter, start, end, window)
    return UsagePublic(
        meter=meter.slug, aggregation=meter.aggregation, source=source, window=window, start=start, end=end,
        total_quantity=result.total_quantity, total_events=result.total_events,
        points=[UsagePointPublic(window_start=p.window_start, group=dict(p.group), quantity=Decimal(p.quantity),
                                 event_count=int(p.event_count)) for p in result.points],
        watermark=watermark,
    )


@router.get("", response_model=UsagePublic, response_model_by_alias=True)
async def usage(principal: CurrentPrincipal, database: DatabaseDep, reader: UsageReaderDep, watermarks: WatermarkDep,
                meter: MeterQuery, start: FromQuery = None, end: ToQuery = None, window: WindowQuery = "hour") -> UsagePublic:
    """Usage from the analytics store (ClickHouse): rollups when they cover the range, raw events otherwise."""
    start, end = service.usage_range(start, end, utcnow(), window)
    source = getattr(reader, "source", "clickhouse")
    return await _usage(reader, source, await service.tenant_meter(database, principal.tenant_id, meter), start, end,
                        window, watermarks)


@router.get("/hourly", response_model=UsagePublic, response_model_by_alias=True)
async def usage_hourly(principal: CurrentPrincipal, database: DatabaseDep, reader: PostgresUsageReaderDep,
                       watermarks: WatermarkDep, meter: MeterQuery, start: FromQuery = None, end: ToQuery = None,
                       source: Annotated[Literal["postgres"], Query()] = "postgres") -> UsagePublic:
    """Hourly usage from the billing store (the tenant's PostgreSQL schema): what invoices are computed from."""
    start, end = service.usage_range(start, end, utcnow())
    return await _usage(reader, source, await service.tenant_meter(database, principal.tenant_id, meter), start, end,
                        "hour", watermarks)
