"""Tenant schema: hourly usage, the dedup record, invoices with lines, payments.

Revision ID: tenant_0001
Revises:
Create Date: 2026-11-25
"""
from alembic import op

revision = "tenant_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Unqualified names: env.py sets search_path to the tenant's schema.
    op.execute("""
    CREATE TABLE usage_hourly (
        meter_slug varchar(64) NOT NULL,
        window_start timestamptz NOT NULL,
        quantity numeric NOT NULL,
        event_count bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (meter_slug, window_start)
    );
    CREATE TABLE processed_event (
        event_id varchar(256) PRIMARY KEY,
        event_time timestamptz NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE invoice (
        number varchar(64) PRIMARY KEY,
        period_start date NOT NULL,
        period_end date NOT NULL,
        plan_slug varchar(64) NOT NULL,
        currency varchar(3) NOT NULL,
        subtotal_minor bigint NOT NULL,
        total_minor bigint NOT NULL,
        status varchar(16) NOT NULL,
        stripe_invoice_id text UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (period_end > period_start)
    );
    CREATE TABLE invoice_line (
        invoice_number varchar(64) NOT NULL REFERENCES invoice(number) ON DELETE CASCADE,
        position integer NOT NULL,
        kind varchar(16) NOT NULL,
        meter_slug varchar(64),
        description text NOT NULL,
        quantity numeric,
        unit_price numeric,
        tier text,
        amount_minor bigint NOT NULL,
        PRIMARY KEY (invoice_number, position)
    );
    CREATE TABLE payment (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        invoice_number varchar(64) NOT NULL REFERENCES invoice(number),
        stripe_payment_id text UNIQUE,
        amount_minor bigint NOT NULL,
        status varchar(16) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE payment, invoice_line, invoice, processed_event, usage_hourly")
