"""The usage query: a meter or all of the tenant's meters, over a range, per window of the
caller's time zone, grouped by any of the meters' group-by properties and by subject.

Windows come from metering.zone_windows; each meter is read per window of the coarsest
UTC resolution that aligns with them (warehouse/clickhouse/fine_usage.py says whether
rollups or raw events answer) and regrouped by metering.regroup.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from metering import Meter
from metering.regroup import MeterTotal, UsageRow, regroup
from metering.zone_windows import ZoneWindow, aligned_resolution, zone_windows
from warehouse.clickhouse.fine_usage import FineUsageReader
from warehouse.postgres.database import Database
from warehouse.postgres.meters import list_meters

from ..domain_errors import DomainError, FieldProblem, InvalidInput, Unavailable
from . import service

__all__ = ["UsageAnswer", "parse_zone", "query_meters", "answer_query"]

log = logging.getLogger(__name__)


def _invalid(message: str, field: str, reason: str) -> InvalidInput:
    return InvalidInput(message, code="validation_error", problems=[FieldProblem(field, reason, "query")])


@dataclass(frozen=True)
class UsageAnswer:
    rows: list[UsageRow]
    totals: list[tuple[MeterTotal, str]]  # (total, which data answered)


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _invalid(f"unknown time zone '{name}'", "tz", "an IANA time zone, e.g. Europe/Berlin") from exc


async def query_meters(database: Database, tenant_id: uuid.UUID, slug: str | None,
                       group_by: Sequence[str]) -> list[Meter]:
    """The one meter asked for (404 when not the tenant's), else all the tenant's meters.
    Each group-by name must be a group-by property of at least one of them."""
    if slug is not None:
        meters = [await service.tenant_meter(database, tenant_id, slug)]
    else:
        async with database.connect() as conn:
            meters = sorted(await list_meters(conn, tenant_id), key=lambda m: m.slug)
    if len(group_by) > 8 or len(set(group_by)) != len(group_by):
        raise _invalid("at most 8 distinct group-by properties", "group_by", "at most 8, each once")
    known = {name for meter in meters for name in meter.group_by}
    unknown = [name for name in group_by if name not in known]
    if unknown:
        raise _invalid(f"not a group-by property of the meter(s): {', '.join(unknown)}", "group_by",
                       "must be one of the meter's group_by properties")
    return meters


async def answer_query(reader: FineUsageReader, meters: Sequence[Meter], start: datetime, end: datetime,
                       window: ZoneWindow, zone: ZoneInfo, group_by: Sequence[str], by_subject: bool) -> UsageAnswer:
    edges = zone_windows(start, end, window, zone)
    resolution = aligned_resolution(edges, window)
    if resolution is None:
        raise _invalid("`from` and `to` must be whole minutes", "from", "whole minutes (no seconds)")
    rows: list[UsageRow] = []
    totals = []
    for meter in meters:
        try:
            points, read_from = await reader.fine_usage(meter, edges, resolution, by_subject)
        except DomainError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the store is "unavailable" to the caller
            log.warning("usage query failed: %s", exc)
            raise Unavailable("the usage store (clickhouse) is not reachable") from exc
        own_groups = [name for name in group_by if name in meter.group_by]
        meter_rows, total = regroup(meter.slug, meter.aggregation, points, edges, own_groups, by_subject)
        rows.extend(meter_rows)
        totals.append((total, read_from))
    return UsageAnswer(rows, totals)
