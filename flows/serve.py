"""`meterline serve flows`: registers the deployments with their schedules and runs them."""

from __future__ import annotations

from prefect import serve

from meterline.settings import Settings

from .invoicing import generate_invoices

__all__ = ["run"]


def run(settings: Settings) -> None:
    serve(
        # 02:00 UTC on the 1st: last month's usage, after late events of its last hour.
        generate_invoices.to_deployment(name="monthly", cron="0 2 1 * *"),
    )
