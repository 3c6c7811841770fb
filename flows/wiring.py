"""What the flows are given by the composition root (meterline.bootstrap.flow_wiring): their
settings sections and the billing ports, each built there once per process, on first use
(a flow module is imported where PostgreSQL may not be configured, e.g. to register
deployments or in unit tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from billing_jobs.housekeeping import HousekeepingStore, RetentionPolicy
from billing_jobs.ports import (
    DunningStore, InvoiceRunStore, LimitStore, Mailer, OutboxStore, StripeGateway, WebhookSender,
)
from meterline.settings import BillingSettings, NotifySettings

__all__ = ["FlowWiring"]


@dataclass(frozen=True)
class FlowWiring:
    billing: BillingSettings
    notify: NotifySettings
    invoice_store: Callable[[], InvoiceRunStore]
    dunning_store: Callable[[], DunningStore]
    dunning_tenants: Callable[[], list[str]]  # every tenant's id, for the dunning run
    limit_store: Callable[[], LimitStore]
    outbox: Callable[[], OutboxStore]
    gateway: Callable[[], StripeGateway]
    open_webhook_sender: Callable[[], WebhookSender]  # one per delivery run; the caller closes it
    mailer: Callable[[], Mailer | None]  # None: no SMTP host, emails stay in the outbox
    retention: RetentionPolicy  # settings.housekeeping, as the housekeeping rules take it
    housekeeping_store: Callable[[], HousekeepingStore]
