"""Dunning state in PostgreSQL: steps recorded once, with their effects in the same transaction.

An invoice is due when it is issued (invoices are charged automatically), so
`due_at` is the invoice's `created_at`. Reminders and notices are written to
`billing_outbox` (see billing_notify.py) in the step's transaction: a step is
either recorded with its message or not at all, and never sent twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from billing_jobs.dunning import UNPAID, DunningAction, DunningInvoice
from billing_jobs.lifecycle import TenantState, resume, suspend
from billing_jobs.ports import InvoiceStatus

from .billing_tables import billing_dunning_step, billing_notification_target, billing_outbox
from .tables import app_user, invoice, subscription, tenant
from .tenant_lifecycle import load_state_sync, save_state_sync
from .tenant_scope import tenant_scope_sync
from .transient import retryable_on_connection_loss

__all__ = ["PgDunningStore", "billing_email", "tenant_ids"]

_SUBJECTS = {
    "remind": "Payment reminder: invoice {number} is unpaid ({days} days)",
    "past_due": "Your subscription is past due: invoice {number} is unpaid",
    "suspend": "Your account is suspended: invoice {number} is unpaid",
    "reinstate": "Payment received: your account is active again",
}


@retryable_on_connection_loss
def tenant_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(row[0]) for row in conn.execute(select(tenant.c.id).order_by(tenant.c.slug))]


@retryable_on_connection_loss
class PgDunningStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def dunning_invoices(self, tenant_id: str) -> list[DunningInvoice]:
        with self._engine.connect() as conn:
            steps: dict[str, set[str]] = {}
            for number, step in conn.execute(
                select(billing_dunning_step.c.invoice_number, billing_dunning_step.c.step)
                .where(billing_dunning_step.c.tenant_id == uuid.UUID(tenant_id))
            ):
                steps.setdefault(number, set()).add(step)
            tconn = tenant_scope_sync(conn, tenant_id)
            rows = tconn.execute(
                select(invoice.c.number, invoice.c.status, invoice.c.created_at, invoice.c.stripe_invoice_id)
                .where(or_(invoice.c.status.in_(sorted(UNPAID)), invoice.c.number.in_(sorted(steps))))
            )
            return [DunningInvoice(r.number, r.status, r.created_at, frozenset(steps.get(r.number, ())),
                                   r.stripe_invoice_id) for r in rows]

    def set_status(self, tenant_id: str, number: str, status: InvoiceStatus) -> None:
        with self._engine.begin() as conn:
            tconn = tenant_scope_sync(conn, tenant_id)
            tconn.execute(update(invoice).where(invoice.c.number == number).values(status=status))

    def apply_step(self, tenant_id: str, action: DunningAction, now: datetime) -> bool:
        tid = uuid.UUID(tenant_id)
        with self._engine.begin() as conn:
            recorded = conn.execute(
                pg_insert(billing_dunning_step)
                .values(tenant_id=tid, invoice_number=action.invoice_number, step=action.step, done_at=now)
                .on_conflict_do_nothing().returning(billing_dunning_step.c.step)
            ).scalar_one_or_none()
            if recorded is None:
                return False
            if action.kind == "past_due":
                conn.execute(update(subscription)
                             .where(subscription.c.tenant_id == tid, subscription.c.status == "active")
                             .values(status="past_due"))
            elif action.kind == "suspend":
                _change_standing(conn, tid, now, lambda state: suspend(
                    state, "dunning", f"invoice {action.invoice_number} is unpaid"))
            elif action.kind == "reinstate":
                # Lifts only dunning's own suspension: an operator's stays (billing_jobs.lifecycle).
                _change_standing(conn, tid, now, lambda state: resume(state, "dunning")
                                 if state.suspended_by else state)
                conn.execute(update(subscription)
                             .where(subscription.c.tenant_id == tid, subscription.c.status == "past_due")
                             .values(status="active"))
            conn.execute(pg_insert(billing_outbox).values(
                tenant_id=tid, channel="email", dedup_key=f"dunning:{tenant_id}:{action.invoice_number}:{action.step}",
                recipient=billing_email(conn, tid),
                subject=_SUBJECTS[action.kind].format(number=action.invoice_number, days=action.days_overdue),
                body={"kind": f"dunning.{action.kind}", "invoice_number": action.invoice_number,
                      "step": action.step, "days_overdue": action.days_overdue, "at": now.isoformat()},
            ).on_conflict_do_nothing(index_elements=["dedup_key"]))
            return True


def _change_standing(conn: Connection, tenant_id: uuid.UUID, now: datetime,
                     change: Callable[[TenantState], TenantState]) -> None:
    state = load_state_sync(conn, tenant_id)
    if state is not None and (changed := change(state)) != state:
        save_state_sync(conn, tenant_id, changed, now)


def billing_email(conn: Connection, tenant_id: uuid.UUID) -> str | None:
    """The tenant's billing address if set, else its owner's."""
    configured = conn.execute(select(billing_notification_target.c.email)
                              .where(billing_notification_target.c.tenant_id == tenant_id)).scalar_one_or_none()
    if configured:
        return configured
    return conn.execute(select(app_user.c.email).where(app_user.c.tenant_id == tenant_id, app_user.c.role == "owner")
                        .limit(1)).scalar_one_or_none()
