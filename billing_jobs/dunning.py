"""Dunning: what to do next about a tenant's unpaid invoices. Pure; `now` is passed in.

For each unpaid invoice (open or payment_failed), counted in whole days since
it was due:

- on each reminder day of the schedule (3, 7, 14 by default): retry the charge
  and, if it still fails, send a reminder. Only the latest due reminder is
  sent: after an outage of a week the tenant gets one reminder, not three;
- from `past_due_days`: the subscription goes past_due;
- from `suspend_days` (past due plus the grace period): the tenant is suspended.

A payment at any point ends the sequence: the invoice is no longer unpaid, so
nothing further is due, and once no unpaid invoice is past due any more, an
invoice whose dunning reached past_due or suspension gets a `reinstate` step
(subscription active, tenant active again).

Each step has a key ("reminder_7", "past_due", "suspend", "reinstate") that
the adapter records once per invoice; a step already recorded is never
returned again, which is what makes a rerun on the same day send nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from .ports import InvoiceStatus

__all__ = ["DunningAction", "DunningInvoice", "DunningSchedule", "UNPAID", "days_overdue", "plan_dunning"]

UNPAID: frozenset[InvoiceStatus] = frozenset({"open", "payment_failed"})
_ESCALATED = frozenset({"past_due", "suspend"})


@dataclass(frozen=True, slots=True)
class DunningSchedule:
    reminder_days: tuple[int, ...] = (3, 7, 14)
    past_due_days: int = 15
    suspend_days: int = 22  # past due + a 7-day grace period

    def __post_init__(self) -> None:
        if not self.reminder_days or list(self.reminder_days) != sorted(set(self.reminder_days)):
            raise ValueError("reminder_days must be strictly increasing")
        if self.reminder_days[0] < 0 or not (self.reminder_days[-1] <= self.past_due_days <= self.suspend_days):
            raise ValueError("expected 0 <= reminders <= past_due_days <= suspend_days")


@dataclass(frozen=True, slots=True)
class DunningInvoice:
    number: str
    status: InvoiceStatus
    due_at: datetime
    steps_done: frozenset[str] = field(default_factory=frozenset)
    stripe_invoice_id: str | None = None


@dataclass(frozen=True, slots=True)
class DunningAction:
    kind: Literal["remind", "past_due", "suspend", "reinstate"]
    invoice_number: str
    step: str  # the key recorded once per invoice
    days_overdue: int


def days_overdue(due_at: datetime, now: datetime) -> int:
    if due_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("due_at and now must be timezone-aware")
    return max((now - due_at) // timedelta(days=1), -1)


def plan_dunning(now: datetime, schedule: DunningSchedule, invoices: Sequence[DunningInvoice]) -> list[DunningAction]:
    """The steps due now, in order: per invoice (by number) reminder, past_due, suspend; then reinstatements."""
    actions: list[DunningAction] = []
    still_escalated = False
    for invoice in sorted(invoices, key=lambda i: i.number):
        if invoice.status not in UNPAID:
            continue
        days = days_overdue(invoice.due_at, now)
        reached = [day for day in schedule.reminder_days if day <= days]
        if reached and not (_ESCALATED & invoice.steps_done):
            step = f"reminder_{reached[-1]}"
            if step not in invoice.steps_done:
                actions.append(DunningAction("remind", invoice.number, step, days))
        if days >= schedule.past_due_days:
            still_escalated = True
            if "past_due" not in invoice.steps_done:
                actions.append(DunningAction("past_due", invoice.number, "past_due", days))
        if days >= schedule.suspend_days and "suspend" not in invoice.steps_done:
            actions.append(DunningAction("suspend", invoice.number, "suspend", days))
    if not still_escalated:
        for invoice in sorted(invoices, key=lambda i: i.number):
            if (invoice.status not in UNPAID and _ESCALATED & invoice.steps_done
                    and "reinstate" not in invoice.steps_done):
                actions.append(DunningAction("reinstate", invoice.number, "reinstate",
                                             days_overdue(invoice.due_at, now)))
    return actions
