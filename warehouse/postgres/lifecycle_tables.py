"""Shared tables of operator accounts and of the invoices kept after a tenant's purge (shared_1050)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, MetaData, String, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

__all__ = ["operator_account", "retained_invoice"]

# Own MetaData, like the stream's ledger: Alembic creates these, never metadata.create_all.
_shared = MetaData(schema="public")

operator_account = Table(
    "operator_account", _shared,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),  # finance | sre (api/operator_roles.py)
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("disabled_at", DateTime(timezone=True)),
)

retained_invoice = Table(
    "retained_invoice", _shared,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("number", String(64), primary_key=True),
    Column("tenant_slug", String(40), nullable=False),
    Column("tenant_name", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("plan_slug", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("stripe_invoice_id", Text),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("payments", JSONB, nullable=False),
    Column("retained_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retain_until", Date, nullable=False),
)
