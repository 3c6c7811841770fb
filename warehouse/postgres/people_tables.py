"""The tables of people and sessions (migration shared_1000), as SQLAlchemy Core.

Own metadata, as billing_tables.py: Alembic creates them, never create_all.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

__all__ = ["user_invitation", "user_session", "refresh_token", "audit_event"]

_shared = MetaData(schema="public")

user_invitation = Table(
    "user_invitation", _shared,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("email", String(254), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 of the single-use token
    Column("invited_by", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# A refresh-token family: every token rotated from one login shares it.
user_session = Table(
    "user_session", _shared,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("user_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_reason", Text),
)

refresh_token = Table(
    "refresh_token", _shared,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", UUID(as_uuid=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

audit_event = Table(
    "audit_event", _shared,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor_kind", String(16), nullable=False),  # user | operator | system
    Column("actor_id", UUID(as_uuid=True)),
    Column("actor_email", String(254)),  # as it was: the user may be gone since
    Column("action", String(64), nullable=False),
    Column("target_kind", String(32), nullable=False),
    Column("target_id", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'")),
)
