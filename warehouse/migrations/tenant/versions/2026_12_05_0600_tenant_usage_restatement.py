"""Tenant schema: usage corrections that restate a meter, not add to it.

A late event of a MAX or LATEST meter does not add units to the period it falls in:
it may change the period's value or not. The stream records it as one pending
`restate` correction per (issued invoice, meter), and the next invoice bills what the
period costs now minus what was billed for that meter so far (billing_jobs.corrections);
`amount_minor` keeps what each restatement billed, so a later one subtracts it.
Rows written before this revision are additive deltas (COUNT, SUM), as before.

The pending-row index gains `kind`, so a restatement never merges into a delta of the
same window (only possible if a meter's aggregation was redefined).

Revision ID: tenant_0600
Revises: tenant_0500
Create Date: 2026-12-05
"""
from alembic import op

revision = "tenant_0600"
down_revision = "tenant_0500"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE usage_correction
        ADD COLUMN kind varchar(16) NOT NULL DEFAULT 'delta',
        ADD COLUMN amount_minor bigint;
    DROP INDEX usage_correction_pending;
    CREATE UNIQUE INDEX usage_correction_pending
        ON usage_correction (invoice_number, meter_slug, window_start, kind) WHERE applied_invoice_number IS NULL;
    """)


def downgrade() -> None:
    op.execute("""
    DELETE FROM usage_correction WHERE kind = 'restate';
    DROP INDEX usage_correction_pending;
    CREATE UNIQUE INDEX usage_correction_pending
        ON usage_correction (invoice_number, meter_slug, window_start) WHERE applied_invoice_number IS NULL;
    ALTER TABLE usage_correction DROP COLUMN amount_minor, DROP COLUMN kind;
    """)
