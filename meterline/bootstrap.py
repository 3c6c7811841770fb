"""The only place clients of external systems are built from the settings."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from meterline.settings import Settings

__all__ = ["mailer", "migrate", "pg_engine", "pg_sync_engine", "stripe_gateway", "webhook_sender"]


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

    return StripeAdapter(settings.stripe.api_key.get_secret_value(), settings.stripe_api_base,
                         local=settings.stripe_is_local)


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
