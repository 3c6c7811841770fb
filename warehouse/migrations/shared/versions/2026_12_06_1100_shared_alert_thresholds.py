"""A tenant's own limit-alert thresholds (percent of each plan limit).

One row per tenant that chose its own; without a row the platform's default applies
(settings notify.limit_thresholds). The checks repeat the API's rules (api/notifications,
billing_jobs.limits.threshold_problems) so no other writer can store what the limit check
would refuse. Deleted with the tenant.

Revision ID: shared_1100
Revises: shared_1050
Create Date: 2026-12-06
"""
from alembic import op

revision = "shared_1100"
down_revision = "shared_1050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE billing_alert_threshold (
        tenant_id uuid PRIMARY KEY REFERENCES tenant(id) ON DELETE CASCADE,
        percents integer[] NOT NULL
            CHECK (cardinality(percents) BETWEEN 1 AND 10 AND 1 <= ALL (percents) AND 1000 >= ALL (percents)),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE billing_alert_threshold;")
