"""Meters: whether a meter's value may be negative.

A negative value lowers a tenant's usage, and so its invoice. Ingest refuses one (422)
unless the meter allows it (ingest/meter_rules.py). Existing meters keep the default,
refused: none of them promised negative values, and a tenant turns them on per meter.

Revision ID: shared_0900
Revises: shared_0800
Create Date: 2026-12-06
"""
from alembic import op

revision = "shared_0900"
down_revision = "shared_0800"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE meter ADD COLUMN allow_negative boolean NOT NULL DEFAULT false;")


def downgrade() -> None:
    op.execute("ALTER TABLE meter DROP COLUMN allow_negative;")
