"""Purging a tenant whose deletion grace period is over: a job, Prefect-free, for a flow to call.

Order matters for a purge that fails half way and is run again:
1. the store confirms the purge is due (deleting, past purge_after) and names the Stripe customer;
2. the Stripe customer is deleted (idempotent: one already gone counts as deleted), and the
   tenant's rows in the analytics store (raw events, rollups) are erased (idempotent too);
3. in ONE database transaction the store copies the tenant's invoices, lines and payments to
   the retained table, drops the schema and deletes the tenant row (and with it, by
   ON DELETE CASCADE, its users, API keys, meters, subscriptions and billing records).
The analytics store goes before the database so that a failure there leaves the tenant to
be found again by the next run. A failure at 2 leaves everything in place for the next run; at 3, the database rolls back
and the next run finds the customer gone and proceeds. Invoices stay: as the retained copy
here (readable by operators) and in Stripe, where deleting a customer keeps its invoices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["PurgeTarget", "PurgeOutcome", "TenantPurgeStore", "CustomerRemover", "AnalyticsEraser", "purge_tenant",
           "purge_due_tenants"]


@dataclass(frozen=True)
class PurgeTarget:
    tenant_id: str
    slug: str
    stripe_customer_id: str | None


@dataclass(frozen=True)
class PurgeOutcome:
    tenant_id: str
    slug: str
    invoices_retained: int
    stripe_customer_deleted: str | None


class TenantPurgeStore(Protocol):
    def due_for_purge(self, now: datetime) -> list[str]: ...

    def purge_target(self, tenant_id: str, now: datetime) -> PurgeTarget | None:
        """The tenant if its purge is due at `now`, else None (cancelled, not yet due, already purged)."""

    def purge(self, target: PurgeTarget, now: datetime) -> int | None:
        """Retain the invoices, drop the schema, delete the tenant; the number of invoices
        retained, or None if the purge was no longer due (cancelled meanwhile)."""


class CustomerRemover(Protocol):
    def delete_customer(self, customer_id: str) -> None:
        """Delete the payment provider's customer; one already deleted or unknown is no error."""


class AnalyticsEraser(Protocol):
    def erase_tenant(self, tenant_id: str) -> None:
        """Delete every row of the tenant from the analytics store; nothing left is no error."""


def purge_tenant(*, store: TenantPurgeStore, customers: CustomerRemover, analytics: AnalyticsEraser,
                 tenant_id: str, now: datetime) -> PurgeOutcome | None:
    target = store.purge_target(tenant_id, now)
    if target is None:
        return None
    if target.stripe_customer_id:
        customers.delete_customer(target.stripe_customer_id)
    analytics.erase_tenant(target.tenant_id)
    retained = store.purge(target, now)
    if retained is None:
        return None
    return PurgeOutcome(target.tenant_id, target.slug, retained, target.stripe_customer_id)


def purge_due_tenants(*, store: TenantPurgeStore, customers: CustomerRemover, analytics: AnalyticsEraser,
                      now: datetime) -> list[PurgeOutcome]:
    """Every tenant due at `now`, one after another; safe to run again."""
    outcomes = []
    for tenant_id in store.due_for_purge(now):
        outcome = purge_tenant(store=store, customers=customers, analytics=analytics, tenant_id=tenant_id, now=now)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes
