"""The deployments `meterline serve flows` serves: named as the stack's readiness check and the
operators' API look them up, each with its schedule, paused only when the settings say so."""

from __future__ import annotations

import pytest

from flows.deployments import DEPLOYMENT_NAMES, INVOICES_DEPLOYMENT
from flows.serve import deployments
from meterline.settings import BillingSettings, NotifySettings


@pytest.mark.parametrize("active", [True, False], ids=["scheduled", "paused"])
def test_every_deployment_with_its_schedule(active):
    served = deployments(BillingSettings(schedules_active=active), NotifySettings())
    assert [f"{d.flow_name}/{d.name}" for d in served] == list(DEPLOYMENT_NAMES)
    assert INVOICES_DEPLOYMENT in DEPLOYMENT_NAMES
    assert all(len(d.schedules) == 1 for d in served)
    assert all(d.paused is (not active) for d in served)
    [invoices] = [d for d in served if d.flow_name == "generate-invoices"]
    assert invoices.schedules[0].schedule.cron == "0 2 1 * *"
