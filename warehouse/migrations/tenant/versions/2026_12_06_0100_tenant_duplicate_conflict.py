"""Tenant schema: duplicates whose content differs from the first copy.

A client that reuses an id for a different event loses that event (the first copy
wins, the id alone decides), so the stream records each such duplicate with both
copies' digests, for the tenant to find out. The dedup record keeps the first copy's
digest (`content_digest`, 64 bits of BLAKE2b over type, subject, source, time and data,
stream.events.content_digest); records written before this revision have none, and
duplicates of them are not compared.

Revision ID: tenant_0601
Revises: tenant_0600
Create Date: 2026-12-06
"""
from alembic import op

revision = "tenant_0601"
down_revision = "tenant_0600"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    ALTER TABLE processed_event ADD COLUMN content_digest bigint;
    CREATE TABLE duplicate_conflict (
        id bigserial PRIMARY KEY,
        event_id varchar(256) NOT NULL,
        first_digest bigint NOT NULL,
        duplicate_digest bigint NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX duplicate_conflict_seen_at ON duplicate_conflict (seen_at);
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE duplicate_conflict;
    ALTER TABLE processed_event DROP COLUMN content_digest;
    """)
