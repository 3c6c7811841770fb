"""GET /v1/usage/query (JSON, paginated) and GET /v1/usage/export (the same rows as CSV).

Both act on the caller's tenant's meters only: another tenant's slug is unknown (404).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime

from metering.regroup import ROW_KEY_ARITY, row_key
from metering.zone_windows import ZoneWindow

from ..errors import error_responses
from ..auth import utcnow
from ..deps import CurrentPrincipal, DatabaseDep
from ..domain_errors import FieldProblem, InvalidInput
from ..fields import ResourceSlug
from . import service
from .cursor import InvalidCursor, page
from .query_deps import FineUsageReaderDep, WatermarkDep
from .query_schemas import MeterTotalPublic, UsageQueryPublic, UsageRowPublic
from .query_service import UsageAnswer, answer_query, parse_zone, query_meters

router = APIRouter(prefix="/v1/usage", tags=["usage"],
                   responses=error_responses(401, 403, (404, "No meter with this slug in your tenant"), 503))

FromQuery = Annotated[AwareDatetime | None, Query(alias="from", description="Inclusive, RFC 3339 with offset, whole "
                                                                           "minutes; default: `to` minus 24 hours")]
ToQuery = Annotated[AwareDatetime | None, Query(alias="to", description="Exclusive, RFC 3339 with offset, whole minutes; "
                                                                       "default: the end of the current minute")]
MeterFilter = Annotated[ResourceSlug | None, Query(description="One meter's slug; omitted: all the tenant's meters")]
ZoneQuery = Annotated[str, Query(alias="tz", max_length=64, description="IANA time zone of the windows")]
ZoneWindowQuery = Annotated[ZoneWindow, Query(description="Window size, in the time zone `tz`")]
GroupByQuery = Annotated[list[str], Query(description="Group-by properties to group by (repeat the parameter)")]
SubjectQuery = Annotated[bool, Query(description="Also group by the events' subject (read from raw events)")]


class _Query:
    def __init__(self, meter: MeterFilter = None, start: FromQuery = None, end: ToQuery = None,
                 window: ZoneWindowQuery = "day", tz: ZoneQuery = "UTC", group_by: GroupByQuery = [],  # noqa: B006
                 by_subject: SubjectQuery = False) -> None:
        self.meter, self.window, self.tz, self.group_by, self.by_subject = meter, window, tz, group_by, by_subject
        # Month windows are bounded as days are: at most 366 days. The default `to` is the
        # end of the current minute: windows are built from whole minutes.
        now = utcnow()
        end_of_minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        self.start, self.end = service.usage_range(start, end, end_of_minute,
                                                   "minute" if window == "minute" else "day")


async def _answer(q: _Query, principal, database, reader) -> UsageAnswer:
    zone = parse_zone(q.tz)
    meters = await query_meters(database, principal.tenant_id, q.meter, q.group_by)
    return await answer_query(reader, meters, q.start, q.end, q.window, zone, q.group_by, q.by_subject)


def _row(row, zone) -> UsageRowPublic:
    return UsageRowPublic(meter=row.meter, window_start=row.window_start.astimezone(zone),
                          window_end=row.window_end.astimezone(zone), group=row.group, subject=row.subject,
                          quantity=row.quantity, event_count=row.event_count)


@router.get("/query", response_model=UsageQueryPublic, response_model_by_alias=True)
async def usage_query(principal: CurrentPrincipal, database: DatabaseDep, reader: FineUsageReaderDep,
                      watermarks: WatermarkDep, q: Annotated[_Query, Depends()],
                      cursor: Annotated[str | None, Query(max_length=2048)] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> UsageQueryPublic:
    """Usage of a meter or all meters per window of a time zone, by group and subject, one page of rows."""
    # The watermark first: what it claims was applied before the rows were read.
    watermark = await watermarks.watermark()
    answer = await _answer(q, principal, database, reader)
    try:
        rows, next_cursor = page(answer.rows, row_key, cursor, limit, arity=ROW_KEY_ARITY)
    except InvalidCursor as exc:
        raise InvalidInput(str(exc), code="validation_error",
                           problems=[FieldProblem("cursor", "not a cursor of this query", "query")]) from exc
    zone = parse_zone(q.tz)
    return UsageQueryPublic(
        time_zone=q.tz, window=q.window, start=q.start, end=q.end, group_by=q.group_by, by_subject=q.by_subject,
        watermark=watermark, rows=[_row(r, zone) for r in rows], next_cursor=next_cursor,
        totals=[MeterTotalPublic(meter=t.meter, aggregation=t.aggregation, quantity=t.quantity,
                                 event_count=t.event_count, read_from=read_from) for t, read_from in answer.totals])


def csv_text(rows: list[UsageRowPublic], group_by: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["meter", "window_start", "window_end", *[f"group.{g}" for g in group_by], "subject",
                     "quantity", "event_count"])
    for r in rows:
        writer.writerow([r.meter, r.window_start.isoformat(), r.window_end.isoformat(),
                         *[r.group.get(g) if r.group.get(g) is not None else "" for g in group_by],
                         r.subject if r.subject is not None else "", str(r.quantity), r.event_count])
    return out.getvalue()


# The seed's roles: reading usage exports starts at member (viewers read the JSON answers).
@router.get("/export", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "The query's rows as CSV"}})
async def usage_export(principal: CurrentPrincipal, database: DatabaseDep, reader: FineUsageReaderDep,
                       watermarks: WatermarkDep, q: Annotated[_Query, Depends()]) -> Response:
    """The rows of GET /v1/usage/query, every page at once, as CSV; the watermark is the
    `X-Usage-Watermark` header (empty when unknown)."""
    watermark: datetime | None = await watermarks.watermark()
    answer = await _answer(q, principal, database, reader)
    zone = parse_zone(q.tz)
    body = csv_text([_row(r, zone) for r in answer.rows], q.group_by)
    return Response(body, media_type="text/csv", headers={
        "X-Usage-Watermark": watermark.isoformat() if watermark else "",
        "Content-Disposition": 'attachment; filename="usage.csv"'})
