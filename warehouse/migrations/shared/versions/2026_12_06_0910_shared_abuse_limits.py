"""Abuse limits shared by every API replica: request counters and login failures.

`rate_counter` holds one row per (key, fixed window): a request adds one with a single
upsert (warehouse/postgres/abuse_limits.py), so replicas share the count without a
cache server. It is UNLOGGED: a counter needs no WAL, and without the WAL flush the
upsert costs about half (bench/api_rate_limit.py); a crash merely starts the current
windows afresh. `login_failure` holds the failed logins of an account or a client
address, and the lockout they earned. Both are pruned as they expire.

Revision ID: shared_0910
Revises: shared_0900
Create Date: 2026-12-06
"""
from alembic import op

revision = "shared_0910"
down_revision = "shared_0900"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE UNLOGGED TABLE rate_counter (
        key text NOT NULL,
        window_start timestamptz NOT NULL,
        window_end timestamptz NOT NULL,
        hits integer NOT NULL,
        PRIMARY KEY (key, window_start)
    );
    CREATE INDEX rate_counter_window_end ON rate_counter (window_end);
    CREATE TABLE login_failure (
        key text PRIMARY KEY,
        failures integer NOT NULL,
        last_failure_at timestamptz NOT NULL,
        locked_until timestamptz
    );
    CREATE INDEX login_failure_last_failure_at ON login_failure (last_failure_at);
    """)


def downgrade() -> None:
    op.execute("DROP TABLE login_failure; DROP TABLE rate_counter;")
