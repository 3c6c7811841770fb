"""Run one tenant's dunning for `now`: retry due charges, then record and carry out due steps.

A reminder day first retries the charge (the gateway's pay is idempotent and
treats already-paid as success); only if it still fails is the reminder
recorded. Steps are then planned again from the refreshed invoices, so a
payment (by this retry or by a webhook since the last run) ends the sequence
at once and lifts an escalation.
"""

from __future__ import annotations

from datetime import datetime

from .dunning import DunningAction, DunningSchedule, plan_dunning
from .errors import PaymentDeclinedError
from .ports import DunningStore, StripeGateway

__all__ = ["dun_tenant"]


def dun_tenant(*, store: DunningStore, gateway: StripeGateway, tenant_id: str, schedule: DunningSchedule,
               now: datetime) -> list[DunningAction]:
    """The steps newly carried out (already-recorded ones are skipped)."""
    invoices = store.dunning_invoices(tenant_id)
    by_number = {invoice.number: invoice for invoice in invoices}
    retried = False
    for action in plan_dunning(now, schedule, invoices):
        stripe_id = by_number[action.invoice_number].stripe_invoice_id
        if action.kind != "remind" or stripe_id is None:
            continue
        try:
            ref = gateway.pay_invoice(stripe_id)
        except PaymentDeclinedError:
            continue
        store.set_status(tenant_id, action.invoice_number, ref.invoice_status)
        retried = True
    if retried:
        invoices = store.dunning_invoices(tenant_id)
    return [action for action in plan_dunning(now, schedule, invoices) if store.apply_step(tenant_id, action, now)]
