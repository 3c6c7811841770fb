"""Billing: webhook events seen, dunning steps, limit alerts and blocks, notification targets, outbox.

Revision ID: shared_0100
Revises: shared_0002
Create Date: 2026-11-25
"""
from alembic import op

revision = "shared_0100"
down_revision = "shared_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    -- Each Stripe event id once: a replayed delivery finds its row and changes nothing.
    CREATE TABLE billing_webhook_event (
        event_id text PRIMARY KEY,
        type text NOT NULL,
        event_created_at timestamptz NOT NULL,
        outcome text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
    );
    -- Each dunning step of an invoice once (reminder_3, reminder_7, past_due, suspend, ...).
    CREATE TABLE billing_dunning_step (
        tenant_id uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        invoice_number varchar(64) NOT NULL,
        step varchar(32) NOT NULL,
        done_at timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, invoice_number, step)
    );
    -- Each (meter, threshold) alert once per period.
    CREATE TABLE billing_limit_alert (
        tenant_id uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        meter_slug varchar(64) NOT NULL,
        period_start date NOT NULL,
        threshold_percent integer NOT NULL CHECK (threshold_percent > 0),
        quantity numeric NOT NULL,
        limit_quantity numeric NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, meter_slug, period_start, threshold_percent)
    );
    -- A hard limit reached: ingest refuses this meter's events (429) while a row
    -- covers now() and the tenant is still on plan_slug.
    CREATE TABLE billing_limit_block (
        tenant_id uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        meter_slug varchar(64) NOT NULL,
        period_start timestamptz NOT NULL,
        period_end timestamptz NOT NULL,
        plan_slug varchar(64) NOT NULL,
        blocked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, meter_slug, period_start)
    );
    CREATE TABLE billing_notification_target (
        tenant_id uuid PRIMARY KEY REFERENCES tenant(id) ON DELETE CASCADE,
        email varchar(254),
        webhook_url text,
        webhook_secret text
    );
    -- Every notification is written here in the transaction that decides it;
    -- a dispatcher delivers it (SMTP, signed webhook) and sets sent_at. Without
    -- SMTP, email rows stay here for the tenant to read.
    CREATE TABLE billing_outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        channel varchar(16) NOT NULL CHECK (channel IN ('email', 'webhook')),
        dedup_key text NOT NULL UNIQUE,
        recipient text,
        subject text NOT NULL,
        body jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text
    );
    CREATE INDEX ix_billing_outbox_unsent ON billing_outbox (created_at) WHERE sent_at IS NULL;
    """)


def downgrade() -> None:
    op.execute("DROP TABLE billing_outbox, billing_notification_target, billing_limit_block, "
               "billing_limit_alert, billing_dunning_step, billing_webhook_event")
