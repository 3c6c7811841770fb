"""Daily housekeeping: used refresh tokens, ended sessions and ended invitations past their
retention are deleted (billing_jobs.housekeeping decides what; the adapter deletes in batches)."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow, get_run_logger, task

from billing_jobs.housekeeping import prune_expired

from ._shared import retry_transient_only, wiring

__all__ = ["prune_expired_records", "prune_once"]


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_transient_only)
def prune_once(now: datetime) -> dict[str, int]:
    """A retry after a lost connection starts over: the batches committed before it stay done."""
    wired = wiring()
    return prune_expired(store=wired.housekeeping_store(), policy=wired.retention, now=now).as_dict()


@flow(name="housekeeping", log_prints=True)
def prune_expired_records(now: datetime | None = None) -> dict[str, int]:
    """One pass as of `now` (default: the current time); running it again deletes nothing more."""
    now = now or datetime.now(timezone.utc)
    counts = prune_once(now)
    get_run_logger().info("housekeeping as of %s deleted %s", now.isoformat(), counts)
    return counts
