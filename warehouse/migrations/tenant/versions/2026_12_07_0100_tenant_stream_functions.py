"""Tenant schema: the stream's functions, claim_events and merge_usage_windows.

The stream claims a transaction's event ids and merges its usage windows in one statement
for all its tenants. Built from data-modifying CTEs, that statement was planned again every
transaction, about a fifth of what the window merge cost PostgreSQL; a PL/pgSQL function's
statements are planned once per session (warehouse/postgres/usage/stream_functions.py,
bench/README.md "Issue 16: windows as text, planned once"). The search path is this
schema's, fixed at creation, so the bodies name no schema. The text below is
stream_functions.py's as of this revision (tests/unit/test_stream_functions.py compares
them): a later change to a merge rule re-creates the functions in a new revision.

Revision ID: tenant_0800
Revises: tenant_0700
Create Date: 2026-12-07
"""
from alembic import op

revision = "tenant_0800"
down_revision = "tenant_0700"
branch_labels = None
depends_on = None

CLAIM_EVENTS = """CREATE OR REPLACE FUNCTION claim_events(claims json) RETURNS text
    LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
    new_ids text;
BEGIN
    WITH claimed AS (
        INSERT INTO processed_event (event_id, event_time, content_digest)
        SELECT i, t, d FROM json_to_recordset(claims) AS x(i text, t timestamptz, d bigint)
        ON CONFLICT (event_id) DO NOTHING RETURNING event_id)
    SELECT json_agg(event_id)::text INTO new_ids FROM claimed;
    RETURN new_ids;
END
$fn$"""

MERGE_USAGE_WINDOWS = """CREATE OR REPLACE FUNCTION merge_usage_windows(w jsonb, tenant text)
    RETURNS TABLE (committed_line text, committed_quantity numeric)
    LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
    RETURN QUERY WITH deltas AS (
        SELECT e->>0 AS res, e->>1 AS meter_slug, e->>2 AS group_key, CAST(e->>3 AS timestamptz) AS window_start,
               e->>4 AS aggregation, CAST(e->>5 AS numeric) AS quantity, CAST(e->>6 AS bigint) AS event_count,
               CAST(e->>7 AS timestamptz) AS latest_at, e->>8 AS latest_id
        FROM jsonb_array_elements(w) AS e),
    w_minute AS (
        INSERT INTO usage_minute AS t
            (meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id)
        SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id
        FROM deltas WHERE res = 'minute'
    ON CONFLICT (meter_slug, window_start, group_key) DO UPDATE SET
        quantity = CASE t.aggregation WHEN 'COUNT' THEN t.quantity + excluded.quantity WHEN 'SUM' THEN t.quantity + excluded.quantity WHEN 'MAX' THEN GREATEST(t.quantity, excluded.quantity) WHEN 'UNIQUE_COUNT' THEN t.quantity WHEN 'LATEST' THEN CASE WHEN t.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C") THEN excluded.quantity ELSE t.quantity END WHEN 'MIN' THEN LEAST(t.quantity, excluded.quantity) WHEN 'AVG' THEN t.quantity + excluded.quantity ELSE t.quantity + excluded.quantity END,
        latest_at = CASE WHEN t.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C") THEN excluded.latest_at ELSE t.latest_at END,
        latest_id = CASE WHEN t.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C") THEN excluded.latest_id ELSE t.latest_id END,
        event_count = t.event_count + excluded.event_count,
        revision = t.revision + 1,
        updated_at = now()
    RETURNING t.meter_slug, t.group_key, t.window_start, t.aggregation, t.quantity, t.event_count,
              t.latest_at, t.latest_id, t.revision),
    w_hour AS (
        INSERT INTO usage_hourly AS t
            (meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id)
        SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id
        FROM deltas WHERE res = 'hour'
    ON CONFLICT (meter_slug, window_start, group_key) DO UPDATE SET
        quantity = CASE t.aggregation WHEN 'COUNT' THEN t.quantity + excluded.quantity WHEN 'SUM' THEN t.quantity + excluded.quantity WHEN 'MAX' THEN GREATEST(t.quantity, excluded.quantity) WHEN 'UNIQUE_COUNT' THEN t.quantity WHEN 'LATEST' THEN CASE WHEN t.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C") THEN excluded.quantity ELSE t.quantity END WHEN 'MIN' THEN LEAST(t.quantity, excluded.quantity) WHEN 'AVG' THEN t.quantity + excluded.quantity ELSE t.quantity + excluded.quantity END,
        latest_at = CASE WHEN t.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C") THEN excluded.latest_at ELSE t.latest_at END,
        latest_id = CASE WHEN t.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C") THEN excluded.latest_id ELSE t.latest_id END,
        event_count = t.event_count + excluded.event_count,
        revision = t.revision + 1,
        updated_at = now()
    RETURNING t.meter_slug, t.group_key, t.window_start, t.aggregation, t.quantity, t.event_count,
              t.latest_at, t.latest_id, t.revision),
    w_day AS (
        INSERT INTO usage_daily AS t
            (meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id)
        SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id
        FROM deltas WHERE res = 'day'
    ON CONFLICT (meter_slug, window_start, group_key) DO UPDATE SET
        quantity = CASE t.aggregation WHEN 'COUNT' THEN t.quantity + excluded.quantity WHEN 'SUM' THEN t.quantity + excluded.quantity WHEN 'MAX' THEN GREATEST(t.quantity, excluded.quantity) WHEN 'UNIQUE_COUNT' THEN t.quantity WHEN 'LATEST' THEN CASE WHEN t.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C") THEN excluded.quantity ELSE t.quantity END WHEN 'MIN' THEN LEAST(t.quantity, excluded.quantity) WHEN 'AVG' THEN t.quantity + excluded.quantity ELSE t.quantity + excluded.quantity END,
        latest_at = CASE WHEN t.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C") THEN excluded.latest_at ELSE t.latest_at END,
        latest_id = CASE WHEN t.latest_at IS NULL OR (excluded.latest_at, excluded.latest_id COLLATE "C") > (t.latest_at, t.latest_id COLLATE "C") THEN excluded.latest_id ELSE t.latest_id END,
        event_count = t.event_count + excluded.event_count,
        revision = t.revision + 1,
        updated_at = now()
    RETURNING t.meter_slug, t.group_key, t.window_start, t.aggregation, t.quantity, t.event_count,
              t.latest_at, t.latest_id, t.revision)
    SELECT json_build_array(tenant, 'minute', c.meter_slug, c.window_start, c.group_key,
               c.aggregation, c.quantity::text, c.event_count, coalesce(c.latest_at, 'epoch'),
               coalesce(c.latest_id, ''), c.revision)::text, c.quantity
        FROM w_minute AS c
    UNION ALL SELECT json_build_array(tenant, 'hour', c.meter_slug, c.window_start, c.group_key,
               c.aggregation, c.quantity::text, c.event_count, coalesce(c.latest_at, 'epoch'),
               coalesce(c.latest_id, ''), c.revision)::text, c.quantity
        FROM w_hour AS c
    UNION ALL SELECT json_build_array(tenant, 'day', c.meter_slug, c.window_start, c.group_key,
               c.aggregation, c.quantity::text, c.event_count, coalesce(c.latest_at, 'epoch'),
               coalesce(c.latest_id, ''), c.revision)::text, c.quantity
        FROM w_day AS c;
END
$fn$"""


def upgrade() -> None:
    op.execute(CLAIM_EVENTS)
    op.execute(MERGE_USAGE_WINDOWS)


def downgrade() -> None:
    op.execute("DROP FUNCTION merge_usage_windows(jsonb, text); DROP FUNCTION claim_events(json)")
