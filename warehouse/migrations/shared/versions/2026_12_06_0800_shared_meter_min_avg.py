"""Meters: MIN and AVG (metering.aggregations).

AVG windows keep the values' sum in `quantity` and their number in `event_count`, the
columns every window table already has, so no tenant table changes: only the meter
table's CHECK learns the two names.

Revision ID: shared_0800
Revises: shared_0700
Create Date: 2026-12-06
"""
from alembic import op

revision = "shared_0800"
down_revision = "shared_0700"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE meter DROP CONSTRAINT meter_aggregation_check;
    ALTER TABLE meter ADD CONSTRAINT meter_aggregation_check
        CHECK (aggregation IN ('COUNT', 'SUM', 'MAX', 'UNIQUE_COUNT', 'LATEST', 'MIN', 'AVG'));
    """)


def downgrade() -> None:
    # Refused while MIN or AVG meters exist: the CHECK cannot be narrowed under them.
    op.execute("""
    ALTER TABLE meter DROP CONSTRAINT meter_aggregation_check;
    ALTER TABLE meter ADD CONSTRAINT meter_aggregation_check
        CHECK (aggregation IN ('COUNT', 'SUM', 'MAX', 'UNIQUE_COUNT', 'LATEST'));
    """)
