"""The one place a tenant id becomes its PostgreSQL schema, and a connection its scope.

Every warehouse function takes a tenant id; this module looks the schema up once per
process (a tenant's schema never changes its name: it is derived from the slug, which
is immutable) and either scopes a connection with ``schema_translate_map`` (tables
declared in the placeholder schema resolve to the tenant's) or, for the raw-SQL
statements that name the schema, gives the validated name.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncConnection

from warehouse.tenancy import TENANT_SCHEMA_PLACEHOLDER

from .tables import tenant

__all__ = ["UnknownTenant", "tenant_scope", "tenant_scope_sync", "tenant_schema", "tenant_schema_sync",
           "tenant_exists", "all_tenant_ids", "forget"]

# What warehouse.tenancy.schema_for produces; checked again because the name is
# interpolated into SQL text.
_SCHEMA = re.compile(r"^tenant_[a-z][a-z0-9_]{0,55}$")
_known: dict[uuid.UUID, str] = {}


class UnknownTenant(LookupError):
    pass


def _uuid(tenant_id: uuid.UUID | str) -> uuid.UUID:
    return tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))


def _remember(tenant_id: uuid.UUID, name: str | None) -> str | None:
    if name is None:
        return None  # not cached: the tenant may be registered later
    if not _SCHEMA.match(name):
        raise ValueError(f"tenant {tenant_id} has an invalid schema name {name!r}")
    _known[tenant_id] = name
    return name


def _lookup(tenant_id: uuid.UUID):
    return select(tenant.c.schema_name).where(tenant.c.id == tenant_id)


async def _schema_or_none(conn: AsyncConnection, tenant_id: uuid.UUID | str) -> str | None:
    tid = _uuid(tenant_id)
    if tid in _known:
        return _known[tid]
    return _remember(tid, (await conn.execute(_lookup(tid))).scalar_one_or_none())


def _schema_or_none_sync(conn: Connection, tenant_id: uuid.UUID | str) -> str | None:
    tid = _uuid(tenant_id)
    if tid in _known:
        return _known[tid]
    return _remember(tid, conn.execute(_lookup(tid)).scalar_one_or_none())


async def tenant_exists(conn: AsyncConnection, tenant_id: uuid.UUID | str) -> bool:
    return await _schema_or_none(conn, tenant_id) is not None


async def tenant_schema(conn: AsyncConnection, tenant_id: uuid.UUID | str) -> str:
    """The validated schema name, for statements that must name it in their text."""
    name = await _schema_or_none(conn, tenant_id)
    if name is None:
        raise UnknownTenant(str(tenant_id))
    return name


def tenant_schema_sync(conn: Connection, tenant_id: uuid.UUID | str) -> str:
    name = _schema_or_none_sync(conn, tenant_id)
    if name is None:
        raise UnknownTenant(str(tenant_id))
    return name


async def tenant_scope(conn: AsyncConnection, tenant_id: uuid.UUID | str) -> AsyncConnection:
    """`conn` with the tenant's tables resolving to its schema."""
    schema = await tenant_schema(conn, tenant_id)
    return await conn.execution_options(schema_translate_map={TENANT_SCHEMA_PLACEHOLDER: schema})


def tenant_scope_sync(conn: Connection, tenant_id: uuid.UUID | str) -> Connection:
    schema = tenant_schema_sync(conn, tenant_id)
    return conn.execution_options(schema_translate_map={TENANT_SCHEMA_PLACEHOLDER: schema})


async def all_tenant_ids(conn: AsyncConnection) -> list[uuid.UUID]:
    return list((await conn.execute(select(tenant.c.id).order_by(tenant.c.slug))).scalars())


def forget(tenant_id: uuid.UUID | str) -> None:
    """Drop a purged tenant's schema name from this process's cache (warehouse/postgres/tenant_purge.py)."""
    _known.pop(_uuid(tenant_id), None)
