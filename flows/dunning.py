"""Daily dunning: one task per tenant; the decisions are billing_jobs.dunning's."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task

from billing_jobs.dunning import DunningSchedule
from billing_jobs.dunning_service import dun_tenant
from meterline.settings import get_settings
from warehouse.postgres.billing_dunning import PgDunningStore, tenant_ids

from ._shared import retry_transient_only, shared_engine, shared_gateway, task_runner

__all__ = ["run_dunning"]


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_transient_only)
def dun_one_tenant(tenant_id: str, now: datetime) -> list[str]:
    settings = get_settings()
    schedule = DunningSchedule(tuple(settings.billing.reminder_days), settings.billing.past_due_days,
                               settings.billing.suspend_days)
    actions = dun_tenant(store=PgDunningStore(shared_engine()), gateway=shared_gateway(), tenant_id=tenant_id,
                         schedule=schedule, now=now)
    return [f"{action.invoice_number}:{action.step}" for action in actions]


@flow(name="dunning", log_prints=True, task_runner=task_runner())
def run_dunning(now: datetime | None = None, tenant_id: str | None = None) -> dict[str, list[str]]:
    """Every tenant (or one), as of `now` (default: the current time); safe to run again."""
    now = now or datetime.now(timezone.utc)
    tenants = [tenant_id] if tenant_id else tenant_ids(shared_engine())
    get_run_logger().info("dunning %d tenants as of %s", len(tenants), now.isoformat())
    futures = {tid: dun_one_tenant.submit(tid, now) for tid in tenants}
    return {tid: future.result() for tid, future in futures.items()}
