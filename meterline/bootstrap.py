"""The only place clients of external systems are built from the settings."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from meterline.settings import Settings

__all__ = ["migrate", "pg_engine", "pg_sync_engine", "stripe_gateway"]


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
    from billing_jobs.stripe_adapter import StripeAdapter

    return StripeAdapter(settings.stripe.api_key.get_secret_value(), settings.stripe_api_base,
                         local=settings.stripe_is_local)
