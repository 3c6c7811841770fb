"""Alembic environment shared by the two migration trees (shared and tenant).

Run programmatically by warehouse.migrations.runner: the caller passes an open
connection and, for tenant trees, the schema whose version table and objects to use.
"""

from alembic import context

config = context.config
connection = config.attributes["connection"]
schema = config.attributes.get("schema", "public")

# Unqualified names in tenant migrations resolve to the tenant's schema.
connection.exec_driver_sql(f'SET search_path TO "{schema}", public')
context.configure(
    connection=connection,
    version_table_schema=schema,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
