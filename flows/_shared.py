"""What every task of a flow run shares in one process: the wiring (one PostgreSQL pool,
the stores and the Stripe gateway, built once by the composition root) and a bounded
thread pool.

Prefect's ThreadPoolTaskRunner starts a thread per submitted task unless told
otherwise; with an engine per task, a thousand tenants opened a thousand
connections and PostgreSQL refused them ("too many clients"). Tasks now share
one engine whose pool queues them, and run at most `flow_concurrency` at a time.
"""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

from billing_jobs.errors import RetryableError

from .wiring import FlowWiring

__all__ = ["retry_transient_only", "task_runner", "wiring"]


def wiring() -> FlowWiring:
    """This process's wiring. A Prefect worker runs flow code by importing it, so the
    composition root is asked here, once per process (it caches the result)."""
    from meterline.bootstrap import flow_wiring

    return flow_wiring()


def task_runner() -> ThreadPoolTaskRunner:
    return ThreadPoolTaskRunner(max_workers=wiring().billing.flow_concurrency)


def retry_transient_only(task, task_run, state) -> bool:
    """A task's `retry_condition_fn`: retry our RetryableError (rate limit, network, lock
    timeout), never anything else: a bug or a permanent error fails as it is, at once,
    rather than after the retry delays with the same outcome."""
    return isinstance(state.result(raise_on_failure=False), RetryableError)
