"""The invoice flow's own record of Stripe customer creation, on the tenant row."""

from __future__ import annotations

from sqlalchemy import Connection, func, update

from .tables import tenant

__all__ = ["start_customer_creation"]


def start_customer_creation(conn: Connection, tenant_id) -> bool:
    """True for the one caller that first marks the tenant's customer creation started.

    One conditional UPDATE: of two concurrent runs only one sees the row come back, so
    at most one creates the customer without looking for an existing one first. Commit
    it before the first Stripe call, so a crash after that call leaves it set."""
    marked = conn.execute(
        update(tenant)
        .where(tenant.c.id == tenant_id, tenant.c.stripe_customer_started_at.is_(None))
        .values(stripe_customer_started_at=func.now())
        .returning(tenant.c.id)
    ).scalar_one_or_none()
    return marked is not None
