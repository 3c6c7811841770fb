"""Migrating a customer in: an operator creates a tenant's subscription that started in the past.

The invoice run then bills the closed periods it covers like any other (flat fee prorated
from `started_at`, usage from the events of the period). Three rules keep that bill true:

- not in the future: a start the clock has not reached is a scheduled change, not a migration;
- not before the usage horizon: events older than it are refused by ingest or dead-lettered
  by the stream (they can no longer be deduplicated), so a period before it would be billed
  without its usage;
- not overlapping another subscription of the tenant: the invoice run refuses overlapping
  subscriptions (billing_jobs.segments.plan_segments), because they would bill hours twice;
- not in a period the tenant already has an invoice for: an invoice is never recomposed
  (billing_jobs.invoice_service), so that part of the subscription would never be billed.

`check_backdated_start` is the pure rule (unit-tested); `migrate_subscription` applies it
under the tenant's subscription lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone

from warehouse.postgres.billing_history import invoiced_until
from warehouse.postgres.database import Database
from warehouse.postgres.plans import (
    SubscriptionRecord, end_expired_subscriptions, insert_subscription, lock_subscriptions, tenant_subscriptions,
)
from warehouse.postgres.tenants import get_tenant

from ..domain_errors import FieldProblem, InvalidInput, NotFound
from .service import plan_by_slug, refuse_unbillable_plan

__all__ = ["check_backdated_start", "migrate_subscription"]


def _refused(code: str, message: str, reason: str) -> InvalidInput:
    return InvalidInput(message, code=code, problems=[FieldProblem("started_at", reason)])


def check_backdated_start(started_at: datetime, now: datetime, horizon: timedelta,
                          existing: Sequence[SubscriptionRecord], invoiced_up_to: date | None = None) -> None:
    """Why a subscription of the tenant starting at `started_at` (open-ended) may not be
    created at `now`, as InvalidInput on `started_at`; None when it may. `invoiced_up_to`:
    the end of the latest period the tenant has an invoice for."""
    if started_at > now:
        raise _refused("started_in_future", f"started_at {started_at.isoformat()} is in the future",
                       "must not be after now; a migrated subscription started in the past")
    earliest = now - horizon
    if started_at < earliest:
        raise _refused("beyond_usage_horizon",
                       f"started_at {started_at.isoformat()} is before the usage horizon ({earliest.isoformat()}, "
                       f"{horizon.days} days ago): the usage of that time can no longer be ingested or deduplicated",
                       f"must be at or after {earliest.isoformat()}")
    for other in existing:
        if other.canceled_at is None or other.canceled_at > started_at:
            ends = "open-ended" if other.canceled_at is None else f"until {other.canceled_at.isoformat()}"
            raise _refused("overlaps_subscription",
                           f"the tenant has a subscription to '{other.plan.slug}' from "
                           f"{other.started_at.isoformat()} {ends}, which a subscription starting at "
                           f"{started_at.isoformat()} would overlap",
                           "must be at or after the end of the tenant's other subscriptions")
    if invoiced_up_to is not None:
        until = datetime.combine(invoiced_up_to, time(), tzinfo=timezone.utc)
        if started_at < until:
            raise _refused("period_invoiced",
                           f"the tenant is invoiced up to {until.isoformat()}: a subscription starting at "
                           f"{started_at.isoformat()} would never be billed for the time before",
                           f"must be at or after {until.isoformat()}")


async def migrate_subscription(database: Database, tenant_id: uuid.UUID, plan_slug: str, started_at: datetime,
                               now: datetime, horizon: timedelta) -> SubscriptionRecord:
    async with database.begin() as conn:
        if await get_tenant(conn, tenant_id) is None:
            raise NotFound(f"no tenant '{tenant_id}'", problems=[FieldProblem("tenant_id", "unknown tenant", "path")])
        await lock_subscriptions(conn, tenant_id)
        plan_id, plan = await plan_by_slug(conn, plan_slug)
        check_backdated_start(started_at, now, horizon, await tenant_subscriptions(conn, tenant_id),
                              await invoiced_until(conn, tenant_id))
        await refuse_unbillable_plan(conn, tenant_id, plan)
        # One cancelled at its period's end is over now, but its row still says active.
        await end_expired_subscriptions(conn, tenant_id, now)
        return await insert_subscription(conn, tenant_id, plan_id, started_at=started_at)
