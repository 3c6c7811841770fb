"""People and sessions (issue 13): one owner per tenant, invitations, sessions with rotating
refresh tokens, API keys owned by a user, and the per-tenant audit log.

- `app_user_one_owner`: a partial unique index, so a tenant never has two owners; the
  deferred constraint trigger `app_user_keeps_owner` checks at commit that a tenant that
  still exists still has one (a transfer demotes, then promotes, in one transaction).
- `user_invitation`: only a SHA-256 of the single-use token is stored (256-bit random
  tokens need no slow hash); `accepted_at`/`revoked_at` end it, `expires_at` bounds it.
- `user_session` is a refresh-token family; `refresh_token` its members. A refresh token is
  used once (`used_at`); presenting a used one again revokes the whole session. Access tokens
  carry the session id, so a revoked session stops them at the next request too.
- `api_key.owner_user_id`: members manage their own keys only. Existing keys go to their
  tenant's owner; a removed user's keys stay active (ingest must not stop) and pass to nobody
  (NULL), which only admins manage.
- `audit_event`: no foreign key to the tenant, so the record of a tenant's deletion outlives it.

Revision ID: shared_1000
Revises: shared_0910
Create Date: 2026-12-06
"""
from alembic import op

revision = "shared_1000"
down_revision = "shared_0910"
branch_labels = None
depends_on = None


_ONE_OWNER = """
    ALTER TABLE app_user ADD CONSTRAINT app_user_role_known
        CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer'));
    CREATE UNIQUE INDEX app_user_one_owner ON app_user (tenant_id) WHERE role = 'owner';
    CREATE INDEX app_user_tenant_id ON app_user (tenant_id);

    CREATE FUNCTION app_user_keeps_owner() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM tenant WHERE id = OLD.tenant_id)
           AND NOT EXISTS (SELECT 1 FROM app_user WHERE tenant_id = OLD.tenant_id AND role = 'owner') THEN
            RAISE EXCEPTION 'tenant % would have no owner', OLD.tenant_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'app_user_keeps_owner';
        END IF;
        RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER app_user_keeps_owner AFTER UPDATE OF role OR DELETE ON app_user
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.role = 'owner')
        EXECUTE FUNCTION app_user_keeps_owner();
"""

_INVITATIONS_AND_SESSIONS = """
    CREATE TABLE user_invitation (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
        email varchar(254) NOT NULL,
        role varchar(16) NOT NULL CHECK (role IN ('admin', 'manager', 'member', 'viewer')),
        token_hash varchar(64) NOT NULL UNIQUE,
        invited_by uuid REFERENCES app_user (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        accepted_at timestamptz,
        revoked_at timestamptz
    );
    CREATE INDEX user_invitation_tenant ON user_invitation (tenant_id, created_at DESC);

    CREATE TABLE user_session (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        revoked_reason text
    );
    CREATE INDEX user_session_user ON user_session (user_id);

    CREATE TABLE refresh_token (
        token_hash varchar(64) PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES user_session (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
    );
    CREATE INDEX refresh_token_session ON refresh_token (session_id);
"""

_KEY_OWNERS_AND_AUDIT = """
    ALTER TABLE api_key ADD COLUMN owner_user_id uuid REFERENCES app_user (id) ON DELETE SET NULL;
    UPDATE api_key SET owner_user_id = (
        SELECT u.id FROM app_user u WHERE u.tenant_id = api_key.tenant_id AND u.role = 'owner');
    CREATE INDEX api_key_owner_user ON api_key (owner_user_id);

    CREATE TABLE audit_event (
        id bigserial PRIMARY KEY,
        tenant_id uuid NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        actor_kind varchar(16) NOT NULL,
        actor_id uuid,
        actor_email varchar(254),
        action varchar(64) NOT NULL,
        target_kind varchar(32) NOT NULL,
        target_id text,
        details jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_event_tenant ON audit_event (tenant_id, occurred_at DESC, id DESC);
"""


def upgrade() -> None:
    op.execute(_ONE_OWNER)
    op.execute(_INVITATIONS_AND_SESSIONS)
    op.execute(_KEY_OWNERS_AND_AUDIT)


def downgrade() -> None:
    op.execute("""
    DROP TABLE audit_event;
    DROP INDEX api_key_owner_user;
    ALTER TABLE api_key DROP COLUMN owner_user_id;
    DROP TABLE refresh_token;
    DROP TABLE user_session;
    DROP TABLE user_invitation;
    DROP TRIGGER app_user_keeps_owner ON app_user;
    DROP FUNCTION app_user_keeps_owner();
    DROP INDEX app_user_tenant_id;
    DROP INDEX app_user_one_owner;
    ALTER TABLE app_user DROP CONSTRAINT app_user_role_known;
    """)
