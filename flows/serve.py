"""`meterline serve flows`: registers the deployments with their schedules and runs them."""

from __future__ import annotations

from prefect import serve

from meterline.settings import NotifySettings

from .dunning import run_dunning
from .invoicing import generate_invoices
from .limits import check_limits
from .reconcile import reconcile_usage

__all__ = ["run"]


def run(notify: NotifySettings) -> None:
    serve(
        # 02:00 UTC on the 1st: last month's usage, after late events of its last hour.
        generate_invoices.to_deployment(name="monthly", cron="0 2 1 * *"),
        # 09:00 UTC daily: reminders in the working day, after the night's payment retries.
        run_dunning.to_deployment(name="daily", cron="0 9 * * *"),
        # Limit alerts soon after usage crosses a threshold; also delivers the outbox.
        check_limits.to_deployment(name="every-few-minutes", interval=notify.limit_check_minutes * 60),
        # 03:30 UTC daily: after the night's late events, before finance's working day.
        reconcile_usage.to_deployment(name="daily", cron="30 3 * * *"),
    )
