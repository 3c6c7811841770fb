"""`meterline serve flows`: registers the deployments with their schedules and runs them
(`meterline stack up` starts it in the background, so the Prefect UI lists them from the start)."""

from __future__ import annotations

from prefect import serve

from meterline.settings import BillingSettings, NotifySettings

from .dunning import run_dunning
from .housekeeping import prune_expired_records
from .invoicing import generate_invoices
from .limits import check_limits
from .reconcile import reconcile_usage

__all__ = ["deployments", "run"]


def deployments(billing: BillingSettings, notify: NotifySettings) -> list:
    """Every deployment with its schedule, named as flows.deployments.DEPLOYMENT_NAMES (a unit test checks)."""
    paused = not billing.schedules_active
    return [
        # 02:00 UTC on the 1st: last month's usage, after late events of its last hour.
        generate_invoices.to_deployment(name="monthly", cron="0 2 1 * *", paused=paused),
        # 09:00 UTC daily: reminders in the working day, after the night's payment retries.
        run_dunning.to_deployment(name="daily", cron="0 9 * * *", paused=paused),
        # Limit alerts soon after usage crosses a threshold; also delivers the outbox.
        check_limits.to_deployment(name="every-few-minutes", interval=notify.limit_check_minutes * 60, paused=paused),
        # 03:30 UTC daily: after the night's late events, before finance's working day.
        reconcile_usage.to_deployment(name="daily", cron="30 3 * * *", paused=paused),
        # 04:15 UTC daily: the quietest hour for sign-ins, after the night's billing flows.
        prune_expired_records.to_deployment(name="daily", cron="15 4 * * *", paused=paused),
    ]


def run(billing: BillingSettings, notify: NotifySettings) -> None:
    # Not paused on shutdown: `stack down` stops the server too, and the next `stack up`
    # must find the schedules as the settings say, not as the last shutdown left them.
    serve(*deployments(billing, notify), pause_on_shutdown=False)
