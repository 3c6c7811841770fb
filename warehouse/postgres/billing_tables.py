"""Billing tables of the shared schema (migration shared_0100), as SQLAlchemy Core."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, Numeric, String, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from sqlalchemy import MetaData

# Own metadata: these tables are created by Alembic (shared_0100), never by create_all.
shared_metadata = MetaData(schema="public")

__all__ = ["billing_webhook_event", "billing_dunning_step", "billing_limit_alert", "billing_limit_block",
           "billing_notification_target", "billing_outbox"]

billing_webhook_event = Table(
    "billing_webhook_event", shared_metadata,
    Column("event_id", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("event_created_at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

billing_dunning_step = Table(
    "billing_dunning_step", shared_metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("invoice_number", String(64), primary_key=True),
    Column("step", String(32), primary_key=True),
    Column("done_at", DateTime(timezone=True), nullable=False),
)

billing_limit_alert = Table(
    "billing_limit_alert", shared_metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("meter_slug", String(64), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("kind", String(8), primary_key=True),  # soft | hard (shared_0200)
    Column("threshold_percent", Integer, primary_key=True),
    Column("quantity", Numeric, nullable=False),
    Column("limit_quantity", Numeric, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

billing_limit_block = Table(
    "billing_limit_block", shared_metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("meter_slug", String(64), primary_key=True),
    Column("period_start", DateTime(timezone=True), primary_key=True),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("plan_slug", String(64), nullable=False),
    Column("blocked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

billing_notification_target = Table(
    "billing_notification_target", shared_metadata,
    Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    Column("email", String(254)),
    Column("webhook_url", Text),
    Column("webhook_secret", Text),
)

billing_outbox = Table(
    "billing_outbox", shared_metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("tenant_id", UUID(as_uuid=True), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("dedup_key", Text, nullable=False, unique=True),
    Column("recipient", Text),
    Column("subject", Text, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
)
