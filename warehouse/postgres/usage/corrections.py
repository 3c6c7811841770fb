"""Late usage for invoiced periods, pending until the next invoice bills it
(billing_jobs.corrections decides what a late event bills)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import invoice, usage_correction
from ._scope import _in

__all__ = ["CorrectionRecord", "InvoicedPeriod", "invoiced_periods", "add_corrections", "pending_corrections"]


@dataclass(frozen=True)
class CorrectionRecord:
    invoice_number: str
    meter_slug: str
    window_start: datetime
    quantity: Decimal
    event_count: int
    updated_at: datetime
    kind: str = "delta"  # or "restate" (MAX, LATEST: quantity 0, window = the invoice's period start)


@dataclass(frozen=True)
class InvoicedPeriod:
    number: str
    start: datetime
    end: datetime


async def invoiced_periods(conn: AsyncConnection, schema_name: str, since: datetime) -> list[InvoicedPeriod]:
    """Issued invoices (not draft, not void) whose period ends after `since`."""
    tconn = await _in(conn, schema_name)
    rows = await tconn.execute(
        select(invoice.c.number, invoice.c.period_start, invoice.c.period_end)
        .where(invoice.c.status.notin_(("draft", "void")), invoice.c.period_end > since.date())
    )
    return [InvoicedPeriod(number, _midnight(start), _midnight(end)) for number, start, end in rows]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


async def add_corrections(conn: AsyncConnection, schema_name: str,
                          rows: Iterable[tuple[str, str, datetime, Decimal, int, str]]) -> None:
    """rows: (invoice number, meter, window, quantity, event count, kind), as
    billing_jobs.corrections.late_usage_corrections gives them; each is added to its pending
    correction (a restatement adds events, no units)."""
    values = [{"invoice_number": number, "meter_slug": slug, "window_start": window,
               "quantity": quantity, "event_count": events, "kind": kind}
              for number, slug, window, quantity, events, kind in rows]
    if not values:
        return
    statement = pg_insert(usage_correction).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["invoice_number", "meter_slug", "window_start", "kind"],
        index_where=usage_correction.c.applied_invoice_number.is_(None),
        set_={"quantity": usage_correction.c.quantity + statement.excluded.quantity,
              "event_count": usage_correction.c.event_count + statement.excluded.event_count,
              "updated_at": func.now()},
    )
    await (await _in(conn, schema_name)).execute(statement)


async def pending_corrections(conn: AsyncConnection, schema_name: str) -> list[CorrectionRecord]:
    """Usage for already-invoiced periods that no invoice has billed yet."""
    rows = await (await _in(conn, schema_name)).execute(
        select(usage_correction.c.invoice_number, usage_correction.c.meter_slug, usage_correction.c.window_start,
               usage_correction.c.quantity, usage_correction.c.event_count, usage_correction.c.updated_at,
               usage_correction.c.kind)
        .where(usage_correction.c.applied_invoice_number.is_(None))
        .order_by(usage_correction.c.window_start, usage_correction.c.meter_slug)
    )
    return [CorrectionRecord(n, s, w, Decimal(q), int(c), u, k) for n, s, w, q, c, u, k in rows]
