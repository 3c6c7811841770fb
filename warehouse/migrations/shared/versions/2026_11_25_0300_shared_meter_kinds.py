"""Meters: MAX, UNIQUE_COUNT and LATEST, group-by properties, and where rollups start.

Revision ID: shared_0300
Revises: shared_0100
Create Date: 2026-11-25
"""
from alembic import op

revision = "shared_0300"
down_revision = "shared_0100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE meter DROP CONSTRAINT meter_aggregation_check;
    ALTER TABLE meter ADD CONSTRAINT meter_aggregation_check
        CHECK (aggregation IN ('COUNT', 'SUM', 'MAX', 'UNIQUE_COUNT', 'LATEST'));
    -- Dotted paths into an event's data, e.g. ["region", "model"].
    ALTER TABLE meter ADD COLUMN group_by jsonb NOT NULL DEFAULT '[]';
    -- Set by the stream worker when it first applies the meter (stream/meters.py): windows
    -- from here on are complete in the rollups; earlier ones are read from raw events.
    ALTER TABLE meter ADD COLUMN rollup_from timestamptz;
    """)


def downgrade() -> None:
    op.execute("""
    ALTER TABLE meter DROP COLUMN rollup_from, DROP COLUMN group_by, DROP CONSTRAINT meter_aggregation_check;
    ALTER TABLE meter ADD CONSTRAINT meter_aggregation_check CHECK (aggregation IN ('COUNT', 'SUM'));
    """)
