"""The only place clients of external systems are built from the settings."""

from __future__ import annotations

import functools
import os

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from meterline.settings import Settings

__all__ = ["ingest_app", "ingest_rsgi_worker_app", "ingest_worker_app", "mailer", "migrate", "pg_engine",
           "pg_sync_engine", "serve_clickhouse", "serve_ingest", "serve_stream", "stripe_gateway", "webhook_sender"]

# The settings of `serve_ingest`, for its worker processes to rebuild.
_INGEST_SETTINGS_ENV = "_METERLINE_INGEST_SETTINGS_JSON"


def pg_sync_engine(settings: Settings) -> Engine:
    from warehouse.postgres.engine import create_sync_engine

    return create_sync_engine(settings.postgres_url)


def pg_engine(settings: Settings) -> AsyncEngine:
    from warehouse.postgres.engine import create_pg_engine

    return create_pg_engine(settings.postgres_url, settings.postgres.pool_size)


def migrate(settings: Settings) -> list[str]:
    """Bring the shared schema and every tenant schema to head."""
    from warehouse.migrations.runner import migrate_all

    engine = pg_sync_engine(settings)
    try:
        return migrate_all(engine)
    finally:
        engine.dispose()


def stripe_gateway(settings: Settings):
    from billing_jobs.stripe import StripeAdapter

    stripe = settings.stripe
    return StripeAdapter(stripe.api_key.get_secret_value(), stripe.effective_api_base, local=stripe.is_local)


def webhook_sender(settings: Settings):
    from billing_jobs.notify_adapter import HttpWebhookSender

    n = settings.notify
    return HttpWebhookSender(timeout_s=n.webhook_timeout_s, attempts=n.webhook_attempts,
                             backoff_initial_s=n.webhook_backoff_initial_s, backoff_max_s=n.webhook_backoff_max_s)


def mailer(settings: Settings):
    """The SMTP mailer, or None when no SMTP host is configured (emails stay in the outbox)."""
    if not settings.smtp.host:
        return None
    from billing_jobs.notify_adapter import SmtpMailer

    s = settings.smtp
    return SmtpMailer(host=s.host, port=s.port, sender=s.sender, username=s.username,
                      password=s.password.get_secret_value(), starttls=s.starttls, timeout_s=s.timeout_s)


def serve_stream(settings: Settings) -> None:
    """The stream worker, given its own sections and how to open its clients."""
    from stream.app import StreamClients, run
    from warehouse.clickhouse.client import open_clickhouse

    clients = StreamClients(open_postgres=functools.partial(pg_engine, settings),
                            open_clickhouse=functools.partial(open_clickhouse, settings.clickhouse),
                            clickhouse_database=settings.clickhouse.database)
    run(settings.stream, settings.kafka, clients, settings.run_dir / "stream")


def serve_clickhouse(settings: Settings) -> None:
    """The embedded-ClickHouse host, owner of the chDB directory under the run directory."""
    from warehouse.clickhouse.host import run

    run(settings.clickhouse, settings.run_dir / "clickhouse")


def ingest_app(settings: Settings, processes: int = 1):
    """One ingest server process's app: its sections and how to open PostgreSQL."""
    from ingest.app import create_app

    return create_app(settings.ingest, settings.kafka, functools.partial(pg_engine, settings), processes)


def serve_ingest(settings: Settings) -> None:
    from ingest.app import run

    # Worker processes rebuild the settings from this JSON (secrets are not in it; ingest needs none).
    os.environ[_INGEST_SETTINGS_ENV] = settings.model_dump_json()
    run(settings.ingest, settings.run_dir / "ingest-metrics",
        asgi_factory="meterline.bootstrap:ingest_worker_app", rsgi_factory="meterline.bootstrap:ingest_rsgi_worker_app")


def ingest_worker_app():
    """The ASGI app of one of several uvicorn processes (uvicorn imports it by name)."""
    from ingest.app import worker_processes

    return ingest_app(Settings.model_validate_json(os.environ[_INGEST_SETTINGS_ENV]), processes=worker_processes())


def ingest_rsgi_worker_app():
    """The RSGI app of one granian worker process (granian imports it by name)."""
    from ingest.rsgi import RsgiIngest

    return RsgiIngest(ingest_worker_app())
