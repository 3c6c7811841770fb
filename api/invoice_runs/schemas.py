"""Bodies and answers of the invoice-run routes. Totals are decimal strings in major units
with their currency, as the run's table artifact writes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


__all__ = ["CloseNowRequest", "InvoiceRunCreate", "InvoiceRunPublic", "TenantOutcomePublic"]

# Years 2000-2099, as the analytics months.
PERIOD_PATTERN = r"^20\d{2}-(0[1-9]|1[0-2])$"


class CloseNowRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="Why the open period is invoiced before it "
                                                                   "closes; the calling operator is recorded as who")


class InvoiceRunCreate(BaseModel):
    period: str = Field(pattern=PERIOD_PATTERN, description="The month to invoice, YYYY-MM (UTC); it must have "
                                                            "closed, unless close_now is given", examples=["2026-11"])
    tenants: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=1000,
                                            description="Only these tenants (ids); default: every tenant subscribed "
                                                        "in the period")
    dry_run: bool = Field(default=False, description="Rate and show every invoice; store nothing, call no Stripe")
    close_now: CloseNowRequest | None = Field(default=None, description="Invoice the open period now, and why "
                                                                        "(recorded in the run's report)")


class TenantOutcomePublic(BaseModel):
    tenant: str = Field(description="The tenant's slug (its id when it failed before being read)")
    tenant_id: str
    invoice_number: str
    total: str = Field(description="Major units, e.g. 25.43; empty when it failed")
    currency: str
    status: str = Field(description="The invoice's status (paid, open, payment_failed, dry run...), or failed")
    failure_reason: str


class InvoiceRunPublic(BaseModel):
    id: uuid.UUID = Field(description="The Prefect flow run's id")
    name: str
    state: str = Field(description="Prefect's state name: Scheduled, Pending, Running, Completed, Failed...")
    state_type: str
    period: str | None = Field(description="YYYY-MM; null: the month that had just closed when it ran")
    tenants: list[str] | None
    dry_run: bool
    close_now: dict[str, Any] | None
    created_at: datetime | None
    ui_url: str = Field(description="The flow run in the Prefect UI")
    deployment_url: str = Field(description="The generate-invoices deployment in the Prefect UI (run it from there)")
    outcomes: list[TenantOutcomePublic] | None = Field(description="A row per tenant; null until the run reports")
    summary_markdown: str | None = Field(description="Counts by status and totals by currency")

    @classmethod
    def of(cls, run) -> InvoiceRunPublic:  # run: flows.invoice_runs.InvoiceRun
        parameters = run.parameters
        return cls(id=run.id, name=run.name, state=run.state, state_type=run.state_type,
                   period=parameters.get("period"), tenants=parameters.get("tenants"),
                   dry_run=bool(parameters.get("dry_run", False)), close_now=parameters.get("close_now"),
                   created_at=run.created_at, ui_url=run.ui_url, deployment_url=run.deployment_url,
                   outcomes=None if run.outcomes is None else [TenantOutcomePublic(**row) for row in run.outcomes],
                   summary_markdown=run.summary)
