"""Runs the Alembic trees: the shared schema once, the tenant tree in every tenant schema.

A new tenant migration file reaches every existing tenant on the next `migrate_all`,
and a newly registered tenant's schema is brought to head when it is created.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

__all__ = ["migrate_shared", "migrate_tenant", "migrate_all", "tenant_head"]

_HERE = Path(__file__).resolve().parent


def _config(tree: str, connection: Connection, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("version_locations", str(_HERE / tree / "versions"))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    return config


def migrate_shared(engine: Engine) -> None:
    with engine.begin() as connection:
        # Serialise concurrent migrators (several services starting at once).
        connection.execute(text("SELECT pg_advisory_xact_lock(7215001)"))
        command.upgrade(_config("shared", connection, "public"), "head")


def migrate_tenant(connection: Connection, schema_name: str) -> None:
    """Create (if needed) and upgrade one tenant schema inside the caller's transaction."""
    connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema_name}"')
    command.upgrade(_config("tenant", connection, schema_name), "head")
    connection.exec_driver_sql("SET search_path TO public")


def migrate_all(engine: Engine) -> list[str]:
    migrate_shared(engine)
    with engine.connect() as connection:
        schemas = [row[0] for row in connection.execute(text("SELECT schema_name FROM public.tenant ORDER BY slug"))]
    for schema_name in schemas:
        with engine.begin() as connection:
            migrate_tenant(connection, schema_name)
    return schemas


def tenant_head() -> str:
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("version_locations", str(_HERE / "tenant" / "versions"))
    return ScriptDirectory.from_config(config).get_current_head()
