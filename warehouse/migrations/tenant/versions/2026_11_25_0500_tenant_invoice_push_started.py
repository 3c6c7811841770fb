"""Tenant schema: when an invoice's push to Stripe first started.

Set (once, atomically) before the first Stripe write for the invoice. A push that
finds it unset is the first one, and nothing of the invoice can be in Stripe yet,
so it skips the crash-recovery look-ups (list calls whose cost grows with the
account); a push that finds it set follows a crash or a concurrent run and looks
Stripe up before creating anything.

Revision ID: tenant_0500
Revises: tenant_0300
Create Date: 2026-11-25
"""
from alembic import op

revision = "tenant_0500"
down_revision = "tenant_0300"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Invoices pushed before this column existed may be partly in Stripe: mark them
    # started, so a retry of any of them still looks Stripe up first.
    op.execute("""
    ALTER TABLE invoice ADD COLUMN stripe_push_started_at timestamptz;
    UPDATE invoice SET stripe_push_started_at = updated_at WHERE stripe_invoice_id IS NULL;
    """)


def downgrade() -> None:
    op.execute("ALTER TABLE invoice DROP COLUMN stripe_push_started_at;")
