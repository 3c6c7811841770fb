"""What the invoice flow needs to bill late usage: pending corrections and their periods' plans.

The stream writes `usage_correction` (warehouse.postgres.usage); the invoice store
marks rows applied (warehouse.postgres.invoices) with the invoice that bills them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone
from decimal import Decimal

from sqlalchemy import Connection, select

from billing_jobs.corrections import CorrectedPeriod, PendingCorrection
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSpan, plan_segments, with_usage

from .billing_usage import hourly_usage
from .tables import invoice, plan, subscription
from .usage import usage_correction

__all__ = ["corrected_periods", "pending_corrections"]


def _in(conn: Connection, schema_name: str) -> Connection:
    return conn.execution_options(schema_translate_map={"tenant": schema_name})


def pending_corrections(conn: Connection, schema_name: str, period_start: date) -> list[PendingCorrection]:
    """Corrections no invoice has billed yet, of invoices for periods before `period_start`
    (re-running an old month must not take a later month's corrections)."""
    earlier = select(invoice.c.number).where(invoice.c.period_start < period_start)
    rows = _in(conn, schema_name).execute(
        select(usage_correction.c.id, usage_correction.c.invoice_number, usage_correction.c.meter_slug,
               usage_correction.c.window_start, usage_correction.c.quantity)
        .where(usage_correction.c.applied_invoice_number.is_(None),
               usage_correction.c.invoice_number.in_(earlier))
        .order_by(usage_correction.c.id))
    return [PendingCorrection(i, n, m, w, Decimal(q)) for i, n, m, w, q in rows]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def corrected_periods(conn: Connection, schema_name: str, tenant_id: uuid.UUID,
                      numbers: set[str]) -> dict[str, CorrectedPeriod]:
    """For each issued invoice number: its period, plans in force then, and usage as it stands now."""
    periods: dict[str, CorrectedPeriod] = {}
    for number, start, end in _in(conn, schema_name).execute(
            select(invoice.c.number, invoice.c.period_start, invoice.c.period_end)
            .where(invoice.c.number.in_(sorted(numbers)))):
        spans = [SubscriptionSpan(Plan.model_validate(d), s, c) for d, s, c in conn.execute(
            select(plan.c.definition, subscription.c.started_at, subscription.c.canceled_at)
            .join(plan, plan.c.id == subscription.c.plan_id)
            .where(subscription.c.tenant_id == tenant_id, subscription.c.started_at < _midnight(end),
                   subscription.c.canceled_at.is_(None) | (subscription.c.canceled_at > _midnight(start)))
            .order_by(subscription.c.started_at))]
        hours = hourly_usage(conn, schema_name, _midnight(start), _midnight(end))
        periods[number] = CorrectedPeriod(start, end, with_usage(plan_segments(spans, start, end), hours))
    return periods
