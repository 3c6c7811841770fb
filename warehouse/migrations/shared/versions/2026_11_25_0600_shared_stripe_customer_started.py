"""Tenants: when the invoice flow first started creating the tenant's Stripe customer.

Set (once, atomically) before the flow's first Stripe call for a tenant that has no
customer id. The run that sets it is the first, and no customer of the tenant can be
in Stripe yet, so it creates one without listing customers by email (a scan of the
whole account in localstripe); a run that finds it set follows a crash or runs
concurrently, and looks the customer up before creating one. (Registration through
the API creates the customer in the transaction that inserts the tenant, so a tenant
row never outlives a customer it does not know.)

Revision ID: shared_0600
Revises: shared_0200
Create Date: 2026-11-25
"""
from alembic import op

revision = "shared_0600"
down_revision = "shared_0200"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tenants that exist already may have had a customer created before this column:
    # mark them started, so their next run still looks Stripe up first.
    op.execute("""
    ALTER TABLE tenant ADD COLUMN stripe_customer_started_at timestamptz;
    UPDATE tenant SET stripe_customer_started_at = created_at;
    """)


def downgrade() -> None:
    op.execute("ALTER TABLE tenant DROP COLUMN stripe_customer_started_at;")
