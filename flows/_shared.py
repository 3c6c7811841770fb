"""What every task of a flow run shares in one process: one PostgreSQL pool, a bounded thread pool.

Prefect's ThreadPoolTaskRunner starts a thread per submitted task unless told
otherwise; with an engine per task, a thousand tenants opened a thousand
connections and PostgreSQL refused them ("too many clients"). Tasks now share
one engine whose pool queues them, and run at most `flow_concurrency` at a time.
"""

from __future__ import annotations

from functools import lru_cache

from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy import Engine

from meterline.bootstrap import pg_sync_engine
from meterline.settings import get_settings

__all__ = ["shared_engine", "task_runner"]


@lru_cache(maxsize=4)
def _engine_for(postgres_url: str) -> Engine:
    return pg_sync_engine(get_settings())


def shared_engine() -> Engine:
    """The process's engine for the current settings (never disposed by a task)."""
    return _engine_for(get_settings().postgres_url)


def task_runner() -> ThreadPoolTaskRunner:
    return ThreadPoolTaskRunner(max_workers=get_settings().billing.flow_concurrency)
