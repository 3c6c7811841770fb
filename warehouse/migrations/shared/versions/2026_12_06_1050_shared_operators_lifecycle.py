"""Operator accounts, the tenant lifecycle (suspension, scheduled deletion) and retained invoices.

`operator_account`: the platform's own people (roles finance and sre, api/operator_roles.py),
apart from every tenant: no tenant_id, so no tenant route can ever load one.

`tenant` gains why and by whom it was suspended (dunning lifts only its own suspensions),
and the deletion an owner scheduled: when it was asked, when the export it needs was
taken, and after when the purge may run. Status 'deleting' covers the grace period.

`retained_invoice`: an invoice copied out of a tenant schema before the purge drops it,
with its lines and payments, kept until `retain_until` (the legal retention period;
docs/operators.md). No foreign key to tenant: it outlives the tenant row.

Revision ID: shared_1050
Revises: shared_0910
Create Date: 2026-12-06
"""
from alembic import op

revision = "shared_1050"
down_revision = "shared_0910"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE operator_account (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email varchar(254) NOT NULL UNIQUE,
        password_hash text NOT NULL,
        role varchar(16) NOT NULL CHECK (role IN ('finance', 'sre')),
        created_at timestamptz NOT NULL DEFAULT now(),
        disabled_at timestamptz
    );
    ALTER TABLE tenant DROP CONSTRAINT tenant_status_check;
    ALTER TABLE tenant ADD CONSTRAINT tenant_status_check CHECK (status IN ('active', 'suspended', 'deleting'));
    ALTER TABLE tenant
        ADD COLUMN status_reason text,
        ADD COLUMN suspended_by varchar(16) CHECK (suspended_by IN ('dunning', 'operator')),
        ADD COLUMN status_changed_at timestamptz,
        ADD COLUMN export_taken_at timestamptz,
        ADD COLUMN deletion_requested_at timestamptz,
        ADD COLUMN purge_after timestamptz;
    CREATE INDEX tenant_purge_after ON tenant (purge_after) WHERE purge_after IS NOT NULL;
    CREATE TABLE retained_invoice (
        tenant_id uuid NOT NULL,
        number varchar(64) NOT NULL,
        tenant_slug varchar(40) NOT NULL,
        tenant_name text NOT NULL,
        period_start date NOT NULL,
        period_end date NOT NULL,
        plan_slug varchar(64) NOT NULL,
        currency varchar(3) NOT NULL,
        subtotal_minor bigint NOT NULL,
        total_minor bigint NOT NULL,
        status varchar(16) NOT NULL,
        stripe_invoice_id text,
        issued_at timestamptz NOT NULL,
        lines jsonb NOT NULL,
        payments jsonb NOT NULL,
        retained_at timestamptz NOT NULL DEFAULT now(),
        retain_until date NOT NULL,
        PRIMARY KEY (tenant_id, number)
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE retained_invoice;
    DROP INDEX tenant_purge_after;
    ALTER TABLE tenant DROP COLUMN status_reason, DROP COLUMN suspended_by, DROP COLUMN status_changed_at,
        DROP COLUMN export_taken_at, DROP COLUMN deletion_requested_at, DROP COLUMN purge_after;
    ALTER TABLE tenant DROP CONSTRAINT tenant_status_check;
    ALTER TABLE tenant ADD CONSTRAINT tenant_status_check CHECK (status IN ('active', 'suspended'));
    DROP TABLE operator_account;
    """)
