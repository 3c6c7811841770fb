"""Tenant schema: minute windows no longer stored; merge_usage_windows writes hours and days.

With scattered event times every stream transaction touched nearly every minute of every
meter: ~0.4 minute-window upserts per event, each ~7 µs of PostgreSQL, and their copies in
ClickHouse's rollups, about a quarter of the stream's CPU per event (bench/README.md,
"Issue 16: minute windows read from raw events"). Per-minute windows are now read from raw
events (warehouse/clickhouse/fine_usage.py, queries.py), which hold every counted event;
`usage_minute` was read by nothing else. The upgrade needs no order between workers and
the migration: this merge ignores the minute deltas a worker still running the old code
sends, and a new worker sends none to the old merge. The function is re-created without its minute upsert (the text is
stream_functions.py's as of this revision; tests/unit/test_stream_functions.py compares
them) before the table goes.

Downgrade: the table comes back empty and the function with its minute upsert; the
minute windows of the time in between are then missing until the reconcile-usage flow of
that version rebuilds them from raw events (it repairs every resolution it finds missing).

Revision ID: tenant_0900
Revises: tenant_0800
Create Date: 2026-12-07
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = "tenant_0900"
down_revision = "tenant_0800"
branch_labels = None
depends_on = None

MERGE_USAGE_WINDOWS = """CREATE OR REPLACE FUNCTION merge_usage_windows(w jsonb, tenant text)
    RETURNS TABLE (committed_line text, committed_quantity numeric)
    LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
    RETURN QUERY WITH deltas AS (
        SELECT e->>0 AS res, e->>1 AS meter_slug, e->>2 AS group_key, CAST(e->>3 AS timestamptz) AS window_start,
               e->>4 AS aggregation, CAST(e->>5 AS numeric) AS quantity, CAST(e->>6 AS bigint) AS event_count,
               CAST(e->>7 AS timestamptz) AS latest_at, e->>8 AS latest_id
        FROM jsonb_array_elements(w) AS e),
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
    SELECT json_build_array(tenant, 'hour', c.meter_slug, c.window_start, c.group_key,
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
    op.execute(MERGE_USAGE_WINDOWS)
    op.execute("DROP TABLE usage_minute")


def _previous_merge() -> str:
    path = Path(__file__).with_name("2026_12_07_0100_tenant_stream_functions.py")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MERGE_USAGE_WINDOWS


def downgrade() -> None:
    op.execute("CREATE TABLE usage_minute (LIKE usage_hourly INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
               "INCLUDING INDEXES)")
    op.execute(_previous_merge())
