"""Which failures a flow's task retries: our transient errors only."""

from __future__ import annotations

import pytest
from prefect.states import Completed, Failed

from billing_jobs.errors import PaymentDeclinedError, PermanentError, RetryableError
from flows._shared import retry_transient_only
from flows.dunning import dun_one_tenant
from flows.housekeeping import prune_once
from flows.limits import check_tenant


@pytest.mark.parametrize(("error", "retried"), [
    (RetryableError("stripe: RateLimitError (429)"), True),
    (PermanentError("stripe: InvalidRequestError (400)"), False),
    (PaymentDeclinedError("declined"), False),
    (KeyError("a bug"), False),
], ids=["transient", "permanent", "declined", "bug"])
def test_only_transient_errors_are_retried(error, retried):
    assert retry_transient_only(None, None, Failed(data=error)) is retried


def test_a_completed_state_is_not_retried():
    assert retry_transient_only(None, None, Completed(data=["ML-ACME-202611:remind"])) is False


@pytest.mark.parametrize("task", [dun_one_tenant, check_tenant, prune_once], ids=["dunning", "limits", "housekeeping"])
def test_the_tasks_retry_through_the_condition(task):
    assert task.retries == 2 and task.retry_condition_fn is retry_transient_only
