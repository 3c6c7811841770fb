"""Tenant schema: the dedup record keeps one B-tree, its primary key.

Every event the stream counts inserts a row into processed_event, and each B-tree is
written per row: the one on event_time, there only to find rows to prune, cost the claim
~1.1 µs per event (9.2 against 8.0; bench/README.md, "Issue 16: lanes"). A BRIN index finds
them instead, for a few pages and no per-row cost that matters: rows are inserted about
in event-time order (live traffic), and minmax-multi ranges keep a late event from
widening its whole block range. The prune query is unchanged (event_time < cutoff).

Revision ID: tenant_0700
Revises: tenant_0601
Create Date: 2026-12-06
"""
from alembic import op

revision = "tenant_0700"
down_revision = "tenant_0601"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    DROP INDEX processed_event_event_time;
    CREATE INDEX processed_event_event_time_brin ON processed_event
        USING brin (event_time timestamptz_minmax_multi_ops);
    """)


def downgrade() -> None:
    op.execute("""
    DROP INDEX processed_event_event_time_brin;
    CREATE INDEX processed_event_event_time ON processed_event (event_time);
    """)
