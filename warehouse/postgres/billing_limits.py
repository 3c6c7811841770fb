"""Limit alerts and hard-limit blocks in PostgreSQL (tables of shared_0100/0200).

`PgLimitStore` is the flow's side (sync, billing_jobs.ports.LimitStore);
`blocked_event_types` is ingest's side (async): which event types of a tenant
are refused now. A block counts only while its period covers now and the
tenant's live subscription is still on the plan that recorded it, so a plan
change lifts it at once and the next period lifts it by itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.alert_messages import Notification
from billing_jobs.limits import LimitAlert
from billing_jobs.plans import Plan
from billing_jobs.ports import LimitSubject
from billing_jobs.segments import period_bounds
from billing_jobs.usage_totals import UsageHour, meter_totals

from .alert_thresholds import billing_alert_threshold
from .billing_dunning import billing_email
from .billing_tables import billing_limit_alert, billing_limit_block, billing_notification_target, billing_outbox
from .plans import live_subscription_clause
from .tables import meter, plan, subscription, tenant, usage_hourly
from .tenant_scope import tenant_scope_sync
from .transient import retryable_on_connection_loss

__all__ = ["PgLimitStore", "blocked_event_types"]


@retryable_on_connection_loss
class PgLimitStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def subjects(self, now: datetime | None = None) -> list[LimitSubject]:
        """Tenants with a subscription live at `now` (default: the database's clock), with its plan
        and the tenant's own alert thresholds (None: the default).

        Live as the API and ingest see it (plans.live_subscription_clause): one
        cancelled at period end is still checked until then."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(tenant.c.id, tenant.c.slug, plan.c.definition, subscription.c.started_at,
                       billing_alert_threshold.c.percents)
                .join(subscription, subscription.c.tenant_id == tenant.c.id)
                .join(plan, plan.c.id == subscription.c.plan_id)
                .outerjoin(billing_alert_threshold, billing_alert_threshold.c.tenant_id == tenant.c.id)
                .where(live_subscription_clause(func.now() if now is None else now)).order_by(tenant.c.slug))
            return [LimitSubject(str(r.id), r.slug, Plan.model_validate(r.definition), r.started_at,
                                 tuple(r.percents) if r.percents else None) for r in rows]

    def usage(self, tenant_id: str, start: datetime, end: datetime) -> dict[str, Decimal]:
        with self._engine.connect() as conn:
            tconn = tenant_scope_sync(conn, tenant_id)
            rows = tconn.execute(
                select(usage_hourly.c.meter_slug, usage_hourly.c.window_start, usage_hourly.c.quantity,
                       usage_hourly.c.aggregation, usage_hourly.c.latest_at, usage_hourly.c.latest_id,
                       usage_hourly.c.event_count)
                .where(usage_hourly.c.window_start >= start, usage_hourly.c.window_start < end))
            # The invoice's rule (the meter's aggregation over hours and groups), so a limit is
            # reached exactly when the billed quantity reaches it. UNIQUE_COUNT meters
            # cannot be combined from these rows and are left out: no alert, no block.
            totals, _ = meter_totals(UsageHour(*r) for r in rows)
            return totals

    def recorded_alerts(self, tenant_id: str, period_start: date) -> set[tuple[str, str, int]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(billing_limit_alert.c.meter_slug, billing_limit_alert.c.kind,
                       billing_limit_alert.c.threshold_percent)
                .where(billing_limit_alert.c.tenant_id == uuid.UUID(tenant_id),
                       billing_limit_alert.c.period_start == period_start))
            return {(m, k, t) for m, k, t in rows}

    def targets(self, tenant_id: str) -> tuple[str | None, str | None]:
        with self._engine.connect() as conn:
            url = conn.execute(select(billing_notification_target.c.webhook_url)
                               .where(billing_notification_target.c.tenant_id == uuid.UUID(tenant_id))
                               ).scalar_one_or_none()
            return billing_email(conn, uuid.UUID(tenant_id)), url

    def record(self, tenant_id: str, period_start: date, period_end: date, plan_slug: str,
               alerts: list[LimitAlert], notifications: Mapping[LimitAlert, list[Notification]],
               blocked: list[str]) -> list[LimitAlert]:
        tid = uuid.UUID(tenant_id)
        recorded: list[LimitAlert] = []
        with self._engine.begin() as conn:
            for alert in alerts:
                # The primary key is the "once per threshold per period" rule: a
                # concurrent or repeated run inserts nothing and sends nothing.
                inserted = conn.execute(
                    pg_insert(billing_limit_alert).values(
                        tenant_id=tid, meter_slug=alert.meter_slug, period_start=period_start, kind=alert.kind,
                        threshold_percent=alert.threshold_percent, quantity=alert.quantity,
                        limit_quantity=alert.limit_quantity)
                    .on_conflict_do_nothing().returning(billing_limit_alert.c.meter_slug)).scalar_one_or_none()
                if inserted is None:
                    continue
                recorded.append(alert)
                for message in notifications.get(alert, []):
                    conn.execute(pg_insert(billing_outbox).values(
                        tenant_id=tid, channel=message.channel, dedup_key=message.dedup_key,
                        recipient=message.recipient, subject=message.subject, body=message.body,
                    ).on_conflict_do_nothing(index_elements=["dedup_key"]))
            if blocked:
                block_start, block_end = period_bounds(period_start, period_end)
                statement = pg_insert(billing_limit_block).values([
                    {"tenant_id": tid, "meter_slug": slug, "period_start": block_start,
                     "period_end": block_end, "plan_slug": plan_slug} for slug in blocked])
                # Reached again after a plan change in the same period: the block is the new plan's.
                conn.execute(statement.on_conflict_do_update(
                    index_elements=["tenant_id", "meter_slug", "period_start"],
                    set_={"plan_slug": statement.excluded.plan_slug, "blocked_at": func.now()},
                    where=billing_limit_block.c.plan_slug != statement.excluded.plan_slug))
        return recorded



async def blocked_event_types(conn: AsyncConnection, tenant_id: uuid.UUID,
                              now: datetime) -> dict[str, tuple[str, datetime]]:
    """{event type: (blocked meter slug, block end)} for the tenant's blocks in force at `now`."""
    rows = await conn.execute(
        select(meter.c.event_type, billing_limit_block.c.meter_slug, billing_limit_block.c.period_end)
        .join(meter, and_(meter.c.tenant_id == billing_limit_block.c.tenant_id,
                          meter.c.slug == billing_limit_block.c.meter_slug))
        .join(subscription, and_(subscription.c.tenant_id == billing_limit_block.c.tenant_id,
                                 live_subscription_clause(now)))
        .join(plan, and_(plan.c.id == subscription.c.plan_id, plan.c.slug == billing_limit_block.c.plan_slug))
        .where(billing_limit_block.c.tenant_id == tenant_id, billing_limit_block.c.period_start <= now,
               billing_limit_block.c.period_end > now)
        .order_by(billing_limit_block.c.meter_slug))
    blocked: dict[str, tuple[str, datetime]] = {}
    for event_type, slug, end in rows:
        blocked.setdefault(event_type, (slug, end))
    return blocked
