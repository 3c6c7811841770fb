"""Shared schema: tenants, users, API keys, meters, plans, subscriptions.

Revision ID: shared_0001
Revises:
Create Date: 2026-11-25
"""
from alembic import op

revision = "shared_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE tenant (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug varchar(40) NOT NULL UNIQUE,
        name text NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
        schema_name varchar(63) NOT NULL UNIQUE,
        stripe_customer_id text UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE app_user (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        email varchar(254) NOT NULL UNIQUE,
        password_hash text NOT NULL,
        role varchar(16) NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE api_key (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        name text NOT NULL,
        prefix varchar(16) NOT NULL,
        key_hash varchar(64) NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
    );
    CREATE INDEX ix_api_key_tenant_id ON api_key (tenant_id);
    CREATE TABLE meter (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        slug varchar(64) NOT NULL,
        event_type text NOT NULL,
        aggregation varchar(16) NOT NULL CHECK (aggregation IN ('COUNT', 'SUM')),
        value_path text,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, slug)
    );
    CREATE TABLE plan (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug varchar(64) NOT NULL UNIQUE,
        definition jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE subscription (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        plan_id uuid NOT NULL REFERENCES plan(id),
        status varchar(16) NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'past_due', 'canceled')),
        started_at timestamptz NOT NULL DEFAULT now(),
        canceled_at timestamptz,
        stripe_subscription_id text UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ix_subscription_tenant_id ON subscription (tenant_id);
    -- At most one live subscription per tenant.
    CREATE UNIQUE INDEX ux_subscription_live ON subscription (tenant_id) WHERE status <> 'canceled';
    """)


def downgrade() -> None:
    op.execute("DROP TABLE subscription, plan, meter, api_key, app_user, tenant")
