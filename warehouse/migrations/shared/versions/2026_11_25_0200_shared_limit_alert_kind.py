"""Limit alerts keyed by limit kind too: a meter may carry a soft and a hard limit of
different sizes, and "80% of the soft limit" is not "80% of the hard limit".

Revision ID: shared_0200
Revises: shared_0300
Create Date: 2026-11-25
"""
from alembic import op

revision = "shared_0200"
down_revision = "shared_0300"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE billing_limit_alert ADD COLUMN kind varchar(8) NOT NULL DEFAULT 'soft'
        CHECK (kind IN ('soft', 'hard'));
    ALTER TABLE billing_limit_alert DROP CONSTRAINT billing_limit_alert_pkey;
    ALTER TABLE billing_limit_alert ADD PRIMARY KEY (tenant_id, meter_slug, period_start, kind, threshold_percent);
    -- The ingest cache asks "which meters of this tenant are blocked now" every few seconds.
    CREATE INDEX ix_billing_limit_block_live ON billing_limit_block (tenant_id, period_end);
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX ix_billing_limit_block_live;
    DELETE FROM billing_limit_alert WHERE kind = 'hard';
    ALTER TABLE billing_limit_alert DROP CONSTRAINT billing_limit_alert_pkey;
    ALTER TABLE billing_limit_alert DROP COLUMN kind;
    ALTER TABLE billing_limit_alert ADD PRIMARY KEY (tenant_id, meter_slug, period_start, threshold_percent);
    """)
