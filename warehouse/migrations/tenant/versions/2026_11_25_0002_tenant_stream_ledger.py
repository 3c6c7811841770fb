"""Tenant schema: the stream's ledger beside usage: dead letters, duplicate tallies,
corrections for invoiced periods, and an index that lets the dedup record be pruned.

Revision ID: tenant_0002
Revises: tenant_0001
Create Date: 2026-11-25
"""
from alembic import op

revision = "tenant_0002"
down_revision = "tenant_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    -- Pruning deletes by event time (stream/sinks/postgres.py: the dedup horizon).
    CREATE INDEX processed_event_event_time ON processed_event (event_time);
    CREATE TABLE dead_letter (
        id bigserial PRIMARY KEY,
        event_id varchar(256) NOT NULL,
        meter_slug varchar(64) NOT NULL DEFAULT '',
        reason text NOT NULL,
        event jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (event_id, meter_slug)
    );
    -- Duplicates dropped, per minute in which the stream saw them.
    CREATE TABLE duplicate_tally (
        window_start timestamptz PRIMARY KEY,
        event_count bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    -- Usage that arrived after its period was invoiced: billed on the next invoice,
    -- which sets applied_invoice_number.
    CREATE TABLE usage_correction (
        id bigserial PRIMARY KEY,
        invoice_number varchar(64) NOT NULL REFERENCES invoice(number),
        meter_slug varchar(64) NOT NULL,
        window_start timestamptz NOT NULL,
        quantity numeric NOT NULL,
        event_count bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        applied_invoice_number varchar(64)
    );
    CREATE UNIQUE INDEX usage_correction_pending
        ON usage_correction (invoice_number, meter_slug, window_start) WHERE applied_invoice_number IS NULL;
    """)


def downgrade() -> None:
    op.execute("DROP TABLE usage_correction, duplicate_tally, dead_letter; DROP INDEX processed_event_event_time")
