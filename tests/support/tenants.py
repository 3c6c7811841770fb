"""Creating tenants, keys and meters directly in PostgreSQL for tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from metering import Meter
from warehouse.postgres.api_keys import create_api_key
from warehouse.postgres.meters import insert_meter
from warehouse.postgres.tenants import insert_tenant

__all__ = ["SeededTenant", "create_tenant"]


@dataclass(frozen=True)
class SeededTenant:
    id: uuid.UUID
    slug: str
    schema_name: str
    api_key: str


async def create_tenant(settings: Settings, slug: str, meters: list[tuple[str, str, str, str | None]] = ()) -> SeededTenant:
    """meters: (slug, event_type, aggregation, value_path)."""
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            tenant, _ = await insert_tenant(conn, slug=slug, name=slug.title(), owner_email=f"owner@{slug}.test",
                                            owner_password_hash="not-used")
            _, key = await create_api_key(conn, tenant.id, "test")
            for meter_slug, event_type, aggregation, value_path in meters:
                await insert_meter(conn, Meter(tenant.id, meter_slug, event_type, aggregation, value_path))
    finally:
        await engine.dispose()
    return SeededTenant(tenant.id, tenant.slug, tenant.schema_name, key)
