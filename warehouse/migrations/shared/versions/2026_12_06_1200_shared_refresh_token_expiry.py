"""An index on refresh_token.expires_at, for housekeeping (warehouse/postgres/housekeeping.py).

The daily prune deletes used refresh tokens long expired, in batches of LIMIT rows; without
this index each batch scans the whole table from its start (past the rows the batches
before it deleted), quadratic in the backlog. Plain rather than partial on `used_at`, so
marking a token used stays a HOT update. Built inside the migration's transaction (not
CONCURRENTLY): it blocks refreshes while it builds, seconds for millions of rows.

Revision ID: shared_1200
Revises: shared_1100
Create Date: 2026-12-06
"""
from alembic import op

revision = "shared_1200"
down_revision = "shared_1100"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX refresh_token_expires_at ON refresh_token (expires_at)")


def downgrade() -> None:
    op.execute("DROP INDEX refresh_token_expires_at")
