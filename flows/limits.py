"""Limit checks every few minutes: alerts once per threshold per period, blocks for ingest,
then delivery of the outbox (limit alerts, dunning notices). Decisions are billing_jobs'."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task

from billing_jobs.limits_service import check_tenant_limits
from billing_jobs.notify_service import deliver_pending
from billing_jobs.ports import LimitSubject
from meterline.bootstrap import mailer, webhook_sender
from meterline.settings import get_settings
from warehouse.postgres.billing_limits import PgLimitStore
from warehouse.postgres.billing_notify import PgOutbox

from ._shared import retry_transient_only, shared_engine, task_runner

__all__ = ["check_limits", "deliver_notifications"]


@task(retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_transient_only)
def check_tenant(subject: LimitSubject, now: datetime) -> dict:
    settings = get_settings()
    result = check_tenant_limits(store=PgLimitStore(shared_engine()), subject=subject, now=now,
                                 thresholds=settings.notify.limit_thresholds)
    return {"alerts": [f"{a.meter_slug}:{a.kind}:{a.threshold_percent}" for a in result.new_alerts],
            "blocked": result.blocked}


@task
def deliver_notifications(now: datetime) -> dict[str, int]:
    """One pass over the outbox; what fails stays there for the next run."""
    settings = get_settings()
    sender = webhook_sender(settings)
    try:
        report = deliver_pending(store=PgOutbox(shared_engine()), webhooks=sender, mailer=mailer(settings), now=now,
                                 max_attempts=settings.notify.max_attempts)
    finally:
        sender.close()
    return {"sent": len(report.sent), "failed": len(report.failed)}


@flow(name="check-limits", log_prints=True, task_runner=task_runner())
def check_limits(now: datetime | None = None, tenant_id: str | None = None) -> dict:
    """Every subscribed tenant (or one) as of `now` (default: the current time); safe to run again."""
    now = now or datetime.now(timezone.utc)
    subjects = [s for s in PgLimitStore(shared_engine()).subjects(now) if tenant_id in (None, s.tenant_id)]
    get_run_logger().info("checking limits of %d tenants as of %s", len(subjects), now.isoformat())
    futures = {s.tenant_id: check_tenant.submit(s, now) for s in subjects}
    tenants = {tid: future.result() for tid, future in futures.items()}
    return {"tenants": tenants, "delivery": deliver_notifications(now)}
