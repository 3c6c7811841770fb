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
from warehouse.postgres.users import insert_user

__all__ = ["SeededTenant", "create_tenant", "signed_in_user"]


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


async def signed_in_user(settings: Settings, tenant_id: uuid.UUID, role: str) -> str:
    """A new user of the tenant with `role`, signed in: the bearer access token of its session."""
    from api.auth import utcnow
    from api.sessions.tokens import start_session

    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            user = await insert_user(conn, tenant_id, f"{role}-{uuid.uuid4().hex[:8]}@example.com", "not-used", role)
            tokens = await start_session(conn, settings.jwt, user.id, tenant_id, role, utcnow())
    finally:
        await engine.dispose()
    return tokens.access.token
