"""An invoice line expanded into what produced it: the hourly windows of its meter that
rated it (PostgreSQL, the billing store), then the raw events in those windows
(ClickHouse), so that any amount can be audited down to the events.

Which windows belong to a line is billing_jobs.line_usage's (the rating rule itself):
the line's segment of the subscriptions in force in the invoice's period, and the
meter's hours that segments.segment_of_window gives it. Windows are as they stand now:
late usage billed on a later invoice as a correction is in them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing_jobs.invoicing import InvoiceLine
from billing_jobs.line_usage import LineUsageSource, NotAUsageLine, SegmentsChanged, line_usage_source
from billing_jobs.segments import plan_segments
from billing_jobs.usage_totals import MeterTotal
from metering import Meter
from warehouse.clickhouse.fine_usage import FineUsageReader, MeteredEventRow
from warehouse.postgres.billing_run import tenant_spans
from warehouse.postgres.billing_usage import MeterWindow, meter_windows
from warehouse.postgres.database import Database
from warehouse.postgres.invoices import get_invoice
from warehouse.postgres.meters import get_meter
from warehouse.postgres.tenants import TenantRecord

from ..domain_errors import Conflict, DomainError, FieldProblem, InvalidInput, NotFound, Unavailable
from ..cursor_query import bad_cursor, cursor_key
from ..usage.cursor import InvalidCursor, encode_cursor, page

__all__ = ["LineWindows", "line_windows", "line_events"]


@dataclass(frozen=True)
class LineWindows:
    source: LineUsageSource
    invoice_number: str
    windows: list[MeterWindow]  # this page
    total_quantity: Decimal | None  # every window combined by the meter's aggregation
    total_events: int
    next_cursor: str | None



async def _source(database: Database, tenant: TenantRecord, number: str,
                  position: int) -> tuple[LineUsageSource, str]:
    async with database.connect() as conn:
        stored = await get_invoice(conn, tenant.id, tenant.slug, number)
        if stored is None:
            raise NotFound(f"no invoice '{number}'")
        draft = stored.draft
        line: InvoiceLine | None = next((l for l in draft.lines if l.position == position), None)
        if line is None:
            raise NotFound(f"invoice '{number}' has no line {position}")
        spans = await conn.run_sync(lambda c: tenant_spans(c, tenant.id, draft.period_start, draft.period_end))
    try:
        return line_usage_source(draft, line, plan_segments(spans, draft.period_start, draft.period_end)), number
    except NotAUsageLine as exc:
        raise InvalidInput(str(exc), code="not_a_usage_line",
                           problems=[FieldProblem("line_id", f"a {line.kind} line", "path")]) from exc
    except SegmentsChanged as exc:
        raise Conflict(str(exc), code="segments_changed") from exc


async def line_windows(database: Database, tenant: TenantRecord, number: str, position: int, limit: int,
                       cursor: str | None) -> LineWindows:
    source, number = await _source(database, tenant, number, position)
    async with database.connect() as conn:
        windows = await conn.run_sync(lambda c: meter_windows(c, tenant.id, source.meter_slug, source.events_from,
                                                              source.events_to))
    total = None
    if windows:
        combined = MeterTotal(source.meter_slug, windows[0].usage.aggregation)
        for window in windows:
            combined.add(window.usage)
        total = combined.value
    try:
        chosen, next_cursor = page(windows, lambda w: (w.window_start, w.group_key), cursor, limit, arity=2)
    except InvalidCursor as exc:
        raise bad_cursor() from exc
    return LineWindows(source, number, chosen, total, sum(w.usage.event_count for w in windows), next_cursor)


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    return cursor_key(cursor, datetime, str)


async def line_events(database: Database, reader: FineUsageReader, tenant: TenantRecord, number: str,
                      position: int, limit: int, cursor: str | None,
                      ) -> tuple[LineUsageSource, list[MeteredEventRow], str | None]:
    after = _after(cursor)
    source, _ = await _source(database, tenant, number, position)
    async with database.connect() as conn:
        meter: Meter | None = await get_meter(conn, tenant.id, source.meter_slug)
    if meter is None:
        raise NotFound(f"meter '{source.meter_slug}' no longer exists: its events cannot be selected")
    try:
        rows = await reader.meter_events(meter, source.events_from, source.events_to, after, limit + 1)
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the store is "unavailable" to the caller
        raise Unavailable("the event store (clickhouse) is not reachable") from exc
    more, rows = len(rows) > limit, rows[:limit]
    return source, rows, encode_cursor((rows[-1].time, rows[-1].id)) if more else None
