"""A tenant's connection: tenant tables resolve to its schema."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["_in"]


def _in(conn: AsyncConnection, schema_name: str):
    return conn.execution_options(schema_translate_map={"tenant": schema_name})
