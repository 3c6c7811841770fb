"""What every task of a flow run shares in one process: one PostgreSQL pool, the adapters, a bounded thread pool.

Prefect's ThreadPoolTaskRunner starts a thread per submitted task unless told
otherwise; with an engine per task, a thousand tenants opened a thousand
connections and PostgreSQL refused them ("too many clients"). Tasks now share
one engine whose pool queues them, and run at most `flow_concurrency` at a time.
"""

from __future__ import annotations

from functools import lru_cache

from prefect.task_runners import ThreadPoolTaskRunner

from billing_jobs.errors import RetryableError
from meterline.bootstrap import pg_sync_engine, stripe_gateway
from meterline.settings import get_settings
from warehouse.postgres.billing_run import PgInvoiceRunStore

__all__ = ["retry_transient_only", "shared_engine", "shared_gateway", "shared_invoice_run_store", "task_runner"]


@lru_cache(maxsize=4)
def _engine_for(postgres_url: str):
    return pg_sync_engine(get_settings())


def shared_engine():
    """The process's engine for the current settings (never disposed by a task)."""
    return _engine_for(get_settings().postgres_url)


@lru_cache(maxsize=4)
def _invoice_run_store_for(postgres_url: str) -> PgInvoiceRunStore:
    return PgInvoiceRunStore(shared_engine())


def shared_invoice_run_store() -> PgInvoiceRunStore:
    """The invoice run's store on the shared engine; safe across task threads (a
    connection per call; its cache of tenant schemas is only ever replaced whole per key)."""
    return _invoice_run_store_for(get_settings().postgres_url)


@lru_cache(maxsize=4)
def _gateway_for(api_base: str | None, api_key: str):
    return stripe_gateway(get_settings())


def shared_gateway():
    """The process's Stripe gateway for the current settings. Building one costs ~8 ms of
    CPU (the SDK's TLS context), as much as a few Stripe calls. It is safe across threads:
    the SDK keeps an HTTP session per thread, and the adapter's caches hold only ids
    Stripe returned, each read or replaced whole."""
    settings = get_settings()
    return _gateway_for(settings.stripe_api_base, settings.stripe.api_key.get_secret_value())


def task_runner() -> ThreadPoolTaskRunner:
    return ThreadPoolTaskRunner(max_workers=get_settings().billing.flow_concurrency)


def retry_transient_only(task, task_run, state) -> bool:
    """A task's `retry_condition_fn`: retry our RetryableError (rate limit, network, lock
    timeout), never anything else: a bug or a permanent error fails as it is, at once,
    rather than after the retry delays with the same outcome."""
    return isinstance(state.result(raise_on_failure=False), RetryableError)
