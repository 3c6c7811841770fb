"""Meters: when the stream backfilled the meter's PostgreSQL windows from raw events.

A meter created after its events arrived must count them in the windows billing reads.
A worker backfills a new meter (stream/backfill.py) from the raw events PostgreSQL's
dedup record says were committed, under an exclusive lock on the tenant that every
batch takes shared; only then is the meter applied, so each event is counted either by
the backfill or by a batch, never both, never neither. Meters that exist already were
applied by the stream when created: mark them backfilled.

Revision ID: shared_0700
Revises: shared_0600
Create Date: 2026-12-05
"""
from alembic import op

revision = "shared_0700"
down_revision = "shared_0600"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE meter ADD COLUMN backfilled_at timestamptz;
    UPDATE meter SET backfilled_at = created_at;
    """)


def downgrade() -> None:
    op.execute("ALTER TABLE meter DROP COLUMN backfilled_at;")
