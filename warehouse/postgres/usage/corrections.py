"""Late usage for invoiced periods, pending until the next invoice bills it
(billing_jobs.corrections decides what a late event bills)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.segments import period_bounds

from ..tables import invoice, usage_correction
from ..tenant_scope import tenant_schema, tenant_scope

__all__ = ["CorrectionRecord", "InvoicedPeriod", "invoiced_periods", "invoiced_periods_by_tenant", "add_corrections", "pending_corrections"]


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


async def invoiced_periods(conn: AsyncConnection, tenant_id: uuid.UUID, since: datetime) -> list[InvoicedPeriod]:
    """Issued invoices (not draft, not void) whose period ends after `since`."""
    tconn = await tenant_scope(conn, tenant_id)
    rows = await tconn.execute(
        select(invoice.c.number, invoice.c.period_start, invoice.c.period_end)
        .where(invoice.c.status.notin_(("draft", "void")), invoice.c.period_end > since.date())
    )
    return [InvoicedPeriod(number, *period_bounds(start, end)) for number, start, end in rows]


async def invoiced_periods_by_tenant(conn: AsyncConnection, since: Mapping[uuid.UUID, datetime]
                                     ) -> dict[uuid.UUID, list[InvoicedPeriod]]:
    """`invoiced_periods` for several tenants (each its own `since`) in one statement."""
    reads, params = [], {}
    tenants = list(since)
    for n, tenant_id in enumerate(tenants):
        schema_name = await tenant_schema(conn, tenant_id)
        reads.append(f'SELECT {n}, number, period_start, period_end FROM "{schema_name}".invoice '
                     f"WHERE status NOT IN ('draft', 'void') AND period_end > CAST(:s{n} AS date)")
        params[f"s{n}"] = since[tenant_id].date()
    periods: dict[uuid.UUID, list[InvoicedPeriod]] = {t: [] for t in tenants}
    if reads:
        for n, number, start, end in await conn.execute(text(" UNION ALL ".join(reads)), params):
            periods[tenants[n]].append(InvoicedPeriod(number, *period_bounds(start, end)))
    return periods


async def add_corrections(conn: AsyncConnection, tenant_id: uuid.UUID,
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
    await (await tenant_scope(conn, tenant_id)).execute(statement)


async def pending_corrections(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[CorrectionRecord]:
    """Usage for already-invoiced periods that no invoice has billed yet."""
    rows = await (await tenant_scope(conn, tenant_id)).execute(
        select(usage_correction.c.invoice_number, usage_correction.c.meter_slug, usage_correction.c.window_start,
               usage_correction.c.quantity, usage_correction.c.event_count, usage_correction.c.updated_at,
               usage_correction.c.kind)
        .where(usage_correction.c.applied_invoice_number.is_(None))
        .order_by(usage_correction.c.window_start, usage_correction.c.meter_slug)
    )
    return [CorrectionRecord(n, s, w, Decimal(q), int(c), u, k) for n, s, w, q, c, u, k in rows]
