"""Shared schema: the stream's consumer positions, committed with the usage they produced.

Revision ID: shared_0002
Revises: shared_0001
Create Date: 2026-11-25
"""
from alembic import op

revision = "shared_0002"
down_revision = "shared_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE stream_position (
        consumer_group text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        next_offset bigint NOT NULL,
        -- Kafka timestamp of the last record applied: the partition's freshness.
        record_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer_group, topic, partition)
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE stream_position")
