"""Tenant schema: usage per group, per minute, hour and day, with a revision per row.

The revision goes up by one with every change of a row; the stream copies each row it
writes, with its revision, to ClickHouse's rollups, where the highest revision wins
(stream/README.md, "Rollups"). `aggregation` says how a row merges and reads (sum, max,
latest by (latest_at, latest_id)).

Revision ID: tenant_0300
Revises: tenant_0002
Create Date: 2026-11-25
"""
from alembic import op

revision = "tenant_0300"
down_revision = "tenant_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE usage_hourly
        ADD COLUMN group_key text NOT NULL DEFAULT '{}',
        ADD COLUMN aggregation varchar(16) NOT NULL DEFAULT 'SUM',
        ADD COLUMN latest_at timestamptz,
        ADD COLUMN latest_id varchar(256),
        ADD COLUMN revision bigint NOT NULL DEFAULT 1;
    ALTER TABLE usage_hourly DROP CONSTRAINT usage_hourly_pkey;
    ALTER TABLE usage_hourly ADD PRIMARY KEY (meter_slug, window_start, group_key);
    CREATE TABLE usage_minute (LIKE usage_hourly INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
    CREATE TABLE usage_daily (LIKE usage_hourly INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE usage_daily, usage_minute;
    DELETE FROM usage_hourly WHERE group_key <> '{}';
    ALTER TABLE usage_hourly DROP CONSTRAINT usage_hourly_pkey;
    ALTER TABLE usage_hourly ADD PRIMARY KEY (meter_slug, window_start);
    ALTER TABLE usage_hourly DROP COLUMN group_key, DROP COLUMN aggregation, DROP COLUMN latest_at,
        DROP COLUMN latest_id, DROP COLUMN revision;
    """)
