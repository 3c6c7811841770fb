"""The deployments `meterline serve flows` serves, by "flow/deployment" name: read by the
stack's readiness check and the operators' API without importing Prefect's flow machinery."""

from __future__ import annotations

__all__ = ["DEPLOYMENT_NAMES", "INVOICES_DEPLOYMENT"]

INVOICES_DEPLOYMENT = "generate-invoices/monthly"
DEPLOYMENT_NAMES = (INVOICES_DEPLOYMENT, "dunning/daily", "check-limits/every-few-minutes", "reconcile-usage/daily",
                    "housekeeping/daily")
