"""Everything a tenant takes with it before its deletion, as JSON-ready dicts.

Meters, subscriptions (with their plan), API keys (names and prefixes: the keys themselves
are never stored), invoices with lines and payments, and the hourly and daily usage
windows. Read in one REPEATABLE READ snapshot so the parts agree with each other.

The usage windows grow with meters x groups x hours (a year of one meter grouped by 100
customers is ~876,000 hourly rows), so they are read through a server-side cursor, in
batches, for the caller to write out as it goes; the rest is small and read whole.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import api_key, invoice, invoice_line, meter, payment, plan, subscription
from .tenant_scope import tenant_schema, tenant_scope

__all__ = ["collect_tenant_export", "usage_window_batches", "EXPORTED_WINDOWS"]

# The usage windows exported, by name in the document, and their tables.
EXPORTED_WINDOWS = {"hour": "usage_hourly", "day": "usage_daily"}


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    return value


def _rows(result) -> list[dict[str, Any]]:
    # str(): column names come as quoted_name, a str subclass orjson refuses as a key.
    return [{str(key): _json(value) for key, value in row.items()} for row in result.mappings()]


async def collect_tenant_export(conn: AsyncConnection, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Everything but the usage windows (usage_window_batches), in a REPEATABLE READ
    snapshot: the first statement of the caller's transaction."""
    await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    meters = _rows(await conn.execute(
        select(meter.c.slug, meter.c.event_type, meter.c.aggregation, meter.c.value_path, meter.c.group_by,
               meter.c.allow_negative, meter.c.created_at).where(meter.c.tenant_id == tenant_id).order_by(meter.c.slug)))
    subscriptions = _rows(await conn.execute(
        select(subscription.c.id, plan.c.slug.label("plan_slug"), subscription.c.status, subscription.c.started_at,
               subscription.c.canceled_at).join(plan, plan.c.id == subscription.c.plan_id)
        .where(subscription.c.tenant_id == tenant_id).order_by(subscription.c.started_at)))
    keys = _rows(await conn.execute(
        select(api_key.c.name, api_key.c.prefix, api_key.c.created_at, api_key.c.revoked_at)
        .where(api_key.c.tenant_id == tenant_id).order_by(api_key.c.created_at)))
    scoped = await tenant_scope(conn, tenant_id)
    invoices = _rows(await scoped.execute(select(invoice).order_by(invoice.c.period_start, invoice.c.number)))
    lines, payments = defaultdict(list), defaultdict(list)
    for line in _rows(await scoped.execute(select(invoice_line).order_by(invoice_line.c.invoice_number,
                                                                         invoice_line.c.position))):
        lines[line["invoice_number"]].append(line)
    for paid in _rows(await scoped.execute(select(payment).order_by(payment.c.created_at))):
        payments[paid["invoice_number"]].append(paid)
    for entry in invoices:
        entry["lines"] = lines.get(entry["number"], [])
        entry["payments"] = payments.get(entry["number"], [])
    return {"meters": meters, "subscriptions": subscriptions, "api_keys": keys, "invoices": invoices}


async def usage_window_batches(conn: AsyncConnection, tenant_id: uuid.UUID, window: str,
                               batch_rows: int = 5_000) -> AsyncIterator[list[dict[str, Any]]]:
    """The tenant's `window` ("hour" or "day") usage windows in order, `batch_rows` at a time,
    from a server-side cursor in the caller's transaction (collect_tenant_export's snapshot)."""
    schema = await tenant_schema(conn, tenant_id)
    result = await conn.stream(text(
        f'SELECT meter_slug, window_start, group_key, quantity, event_count FROM "{schema}".{EXPORTED_WINDOWS[window]} '
        "ORDER BY meter_slug, window_start, group_key"))
    # Per row, five columns of known types: a generic row-to-dict conversion cost ~2x the whole export.
    async for batch in result.partitions(batch_rows):
        yield [{"meter_slug": slug, "window_start": start.isoformat(), "group_key": group, "quantity": str(quantity),
                "event_count": count} for slug, start, group, quantity, count in batch]
