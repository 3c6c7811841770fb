"""What the invoice flow needs to bill late usage: pending corrections and their periods' plans.

The stream writes `usage_correction` (warehouse.postgres.usage); the invoice store
marks rows applied (warehouse.postgres.invoices) with the invoice that bills them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, func, select

from billing_jobs.corrections import RESTATEMENT, CorrectedPeriod, PendingCorrection
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSpan, period_bounds, plan_segments, with_usage

from .billing_usage import hourly_usage
from .tables import invoice, invoice_line, plan, subscription
from .usage import usage_correction

__all__ = ["billed_per_meter", "corrected_periods", "pending_corrections"]


def _in(conn: Connection, schema_name: str) -> Connection:
    return conn.execution_options(schema_translate_map={"tenant": schema_name})


def pending_corrections(conn: Connection, schema_name: str, period_start: date) -> list[PendingCorrection]:
    """Corrections no invoice has billed yet, of invoices for periods before `period_start`
    (re-running an old month must not take a later month's corrections)."""
    earlier = select(invoice.c.number).where(invoice.c.period_start < period_start)
    rows = _in(conn, schema_name).execute(
        select(usage_correction.c.id, usage_correction.c.invoice_number, usage_correction.c.meter_slug,
               usage_correction.c.window_start, usage_correction.c.quantity, usage_correction.c.kind,
               usage_correction.c.event_count)
        .where(usage_correction.c.applied_invoice_number.is_(None),
               usage_correction.c.invoice_number.in_(earlier))
        .order_by(usage_correction.c.id))
    return [PendingCorrection(i, n, m, w, Decimal(q), k, int(e)) for i, n, m, w, q, k, e in rows]


def corrected_periods(conn: Connection, schema_name: str, tenant_id: uuid.UUID,
                      numbers: set[str]) -> dict[str, CorrectedPeriod]:
    """For each issued invoice number: its period, plans in force then, and usage as it stands now."""
    periods: dict[str, CorrectedPeriod] = {}
    for number, start, end in _in(conn, schema_name).execute(
            select(invoice.c.number, invoice.c.period_start, invoice.c.period_end)
            .where(invoice.c.number.in_(sorted(numbers)))):
        lower, upper = period_bounds(start, end)
        spans = [SubscriptionSpan(Plan.model_validate(d), s, c) for d, s, c in conn.execute(
            select(plan.c.definition, subscription.c.started_at, subscription.c.canceled_at)
            .join(plan, plan.c.id == subscription.c.plan_id)
            .where(subscription.c.tenant_id == tenant_id, subscription.c.started_at < upper,
                   subscription.c.canceled_at.is_(None) | (subscription.c.canceled_at > lower))
            .order_by(subscription.c.started_at))]
        hours = hourly_usage(conn, schema_name, lower, upper)
        periods[number] = CorrectedPeriod(start, end, with_usage(plan_segments(spans, start, end), hours),
                                          billed_per_meter(conn, schema_name, number))
    return periods


def billed_per_meter(conn: Connection, schema_name: str, number: str) -> dict[str, int]:
    """{meter slug: minor units billed for it} for issued invoice `number`: its own usage and
    minimum lines, plus what restatements of it billed on later invoices (not additive
    corrections: those bill late units, restatements compare against the lines)."""
    tconn = _in(conn, schema_name)
    billed: dict[str, int] = defaultdict(int)
    for slug, amount in tconn.execute(
            select(invoice_line.c.meter_slug, func.sum(invoice_line.c.amount_minor))
            .where(invoice_line.c.invoice_number == number, invoice_line.c.kind.in_(("usage", "minimum")),
                   invoice_line.c.meter_slug.is_not(None))
            .group_by(invoice_line.c.meter_slug)):
        billed[slug] += int(amount)
    for slug, amount in tconn.execute(
            select(usage_correction.c.meter_slug, func.sum(usage_correction.c.amount_minor))
            .where(usage_correction.c.invoice_number == number, usage_correction.c.kind == RESTATEMENT,
                   usage_correction.c.applied_invoice_number.is_not(None))
            .group_by(usage_correction.c.meter_slug)):
        billed[slug] += int(amount or 0)
    return dict(billed)
