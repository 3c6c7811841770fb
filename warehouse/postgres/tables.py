"""PostgreSQL tables as SQLAlchemy Core metadata: the shared schema and the per-tenant one.

Tenant tables live in the placeholder schema "tenant"; every tenant query runs with
``schema_translate_map`` so one declaration serves every tenant schema.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Integer, MetaData, Numeric, String,
    Table, Text, UniqueConstraint, func, text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from warehouse.tenancy import TENANT_SCHEMA_PLACEHOLDER as T

__all__ = [
    "shared_metadata", "tenant_metadata", "tenant", "app_user", "api_key", "meter", "plan",
    "subscription", "usage_hourly", "processed_event", "invoice", "invoice_line", "payment",
    "dead_letter", "duplicate_tally", "duplicate_conflict", "usage_correction", "stream_position",
]

shared_metadata = MetaData(schema="public")
tenant_metadata = MetaData(schema=T)


def _id() -> Column:
    return Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))


def _created_at() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


tenant = Table(
    "tenant", shared_metadata,
    _id(),
    Column("slug", String(40), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),  # active | suspended
    Column("schema_name", String(63), nullable=False, unique=True),
    Column("stripe_customer_id", Text, unique=True),
    # billing: the invoice flow's record that it started creating the customer (shared_0600)
    Column("stripe_customer_started_at", DateTime(timezone=True)),
    _created_at(),
    # The lifecycle (shared_1050, warehouse/postgres/tenant_lifecycle.py): status is then
    # active | suspended | deleting; dunning lifts only the suspensions it made.
    Column("status_reason", Text),
    Column("suspended_by", String(16)),  # dunning | operator
    Column("status_changed_at", DateTime(timezone=True)),
    Column("export_taken_at", DateTime(timezone=True)),
    Column("deletion_requested_at", DateTime(timezone=True)),
    Column("purge_after", DateTime(timezone=True)),
)

app_user = Table(
    "app_user", shared_metadata,
    _id(),
    Column("tenant_id", UUID(as_uuid=True), ForeignKey("public.tenant.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),  # owner | admin | manager | member | viewer
    _created_at(),
)

api_key = Table(
    "api_key", shared_metadata,
    _id(),
    Column("tenant_id", UUID(as_uuid=True), ForeignKey("public.tenant.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("prefix", String(16), nullable=False),  # shown in listings; the key itself is never stored
    Column("key_hash", String(64), nullable=False, unique=True),
    _created_at(),
    Column("revoked_at", DateTime(timezone=True)),
)

meter = Table(
    "meter", shared_metadata,
    _id(),
    Column("tenant_id", UUID(as_uuid=True), ForeignKey("public.tenant.id", ondelete="CASCADE"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("event_type", Text, nullable=False),
    Column("aggregation", String(16), nullable=False),  # COUNT | SUM | MAX | UNIQUE_COUNT | LATEST
    Column("value_path", Text),
    Column("group_by", JSONB, nullable=False, server_default=text("'[]'")),
    Column("rollup_from", DateTime(timezone=True)),  # set by the stream worker: see stream/meters.py
    # Set when the stream has written the meter's windows for events before it: stream/backfill.py
    Column("backfilled_at", DateTime(timezone=True)),
    # Whether ingest accepts negative values at value_path (shared_0900, ingest/meter_rules.py)
    Column("allow_negative", Boolean, nullable=False, server_default=text("false")),
    _created_at(),
    UniqueConstraint("tenant_id", "slug"),
)

plan = Table(
    "plan", shared_metadata,
    _id(),
    Column("slug", String(64), nullable=False, unique=True),
    Column("definition", JSONB, nullable=False),  # billing_jobs.plans.Plan, as JSON
    _created_at(),
)

subscription = Table(
    "subscription", shared_metadata,
    _id(),
    Column("tenant_id", UUID(as_uuid=True), ForeignKey("public.tenant.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("plan_id", UUID(as_uuid=True), ForeignKey("public.plan.id"), nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),  # active | past_due | canceled
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("canceled_at", DateTime(timezone=True)),
    Column("stripe_subscription_id", Text, unique=True),
    _created_at(),
)

usage_hourly = Table(
    "usage_hourly", tenant_metadata,
    Column("meter_slug", String(64), primary_key=True),
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("group_key", Text, primary_key=True, server_default="{}"),  # metering.group_key
    Column("quantity", Numeric, nullable=False),
    Column("event_count", BigInteger, nullable=False),
    Column("aggregation", String(16), nullable=False, server_default="SUM"),  # how the row merges and reads
    Column("latest_at", DateTime(timezone=True)),  # LATEST: the (time, id) of the value's event
    Column("latest_id", String(256)),
    Column("revision", BigInteger, nullable=False, server_default="1"),  # +1 per change; ClickHouse rollups' version
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Dedup record: an event id is counted only by the transaction that inserts it here.
processed_event = Table(
    "processed_event", tenant_metadata,
    Column("event_id", String(256), primary_key=True),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The first copy's stream.events.content_digest (tenant_0601; NULL before it).
    Column("content_digest", BigInteger),
)

invoice = Table(
    "invoice", tenant_metadata,
    Column("number", String(64), primary_key=True),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("plan_slug", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("stripe_invoice_id", Text, unique=True),
    # Set before the first Stripe write: unset means nothing of it can be in Stripe yet.
    Column("stripe_push_started_at", DateTime(timezone=True)),
    _created_at(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

invoice_line = Table(
    "invoice_line", tenant_metadata,
    Column("invoice_number", String(64), ForeignKey(f"{T}.invoice.number", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("meter_slug", String(64)),
    Column("description", Text, nullable=False),
    Column("quantity", Numeric),
    Column("unit_price", Numeric),
    Column("tier", Text),
    Column("amount_minor", BigInteger, nullable=False),
)

payment = Table(
    "payment", tenant_metadata,
    _id(),
    Column("invoice_number", String(64), ForeignKey(f"{T}.invoice.number"), nullable=False),
    Column("stripe_payment_id", Text, unique=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    _created_at(),
)


# --- The stream's ledger (tenant_0002, shared_0002) ---------------------------------
# Own MetaData objects, as before: nothing creates these from metadata (Alembic does).

_ledger_tenant = MetaData(schema=T)

_ledger_shared = MetaData(schema="public")

dead_letter = Table(
    "dead_letter", _ledger_tenant,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", String(256), nullable=False),
    Column("meter_slug", String(64), nullable=False, server_default=""),
    Column("reason", Text, nullable=False),
    Column("event", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# A duplicate whose content differs from the first copy's (tenant_0601).
duplicate_conflict = Table(
    "duplicate_conflict", _ledger_tenant,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", String(256), nullable=False),
    Column("first_digest", BigInteger, nullable=False),
    Column("duplicate_digest", BigInteger, nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

duplicate_tally = Table(
    "duplicate_tally", _ledger_tenant,
    Column("window_start", DateTime(timezone=True), primary_key=True),
    Column("event_count", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


usage_correction = Table(
    "usage_correction", _ledger_tenant,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("invoice_number", String(64), nullable=False),
    Column("meter_slug", String(64), nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("quantity", Numeric, nullable=False),
    Column("event_count", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("applied_invoice_number", String(64)),
    # "delta" (COUNT, SUM: late units) or "restate" (MAX, LATEST: bill the meter again; the
    # amount it billed is kept once applied): billing_jobs.corrections.
    Column("kind", String(16), nullable=False, server_default="delta"),
    Column("amount_minor", BigInteger),
)


stream_position = Table(
    "stream_position", _ledger_shared,
    Column("consumer_group", Text, primary_key=True),
    Column("topic", Text, primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
    Column("record_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
