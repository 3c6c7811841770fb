"""The stream's two per-tenant PL/pgSQL functions, `claim_events` and `merge_usage_windows`.

The stream writes all of a transaction's tenants in one statement per kind of row. Built
as data-modifying CTEs (an input and three upserts per tenant), PostgreSQL planned that
statement anew every transaction: about a fifth of the window statement's cost (~1.9 µs
per event; bench/README.md, "Issue 16: windows as text, planned once"). A PL/pgSQL
function plans its statements once per session and reuses them, so the transaction's
statement only calls each tenant's functions, in tenant order. Their plans are generic
from the first call (`plan_cache_mode`): by default a session plans a statement afresh for
its first five calls, and a worker calls a given tenant's functions only when that tenant
is in its transaction (measured cold, a new session per transaction: as costly as the
CTE statement, no worse).

The functions live in each tenant's schema, created by a tenant migration with the
schema's search path fixed (`SET search_path FROM CURRENT`), so their text names no
schema. This module builds that text from the merge rules (windows._MERGE, from each
aggregation's own fragment); tests/unit/test_stream_functions.py checks the latest
migration holds the same text, so a changed rule comes with a migration re-creating them.
"""

from __future__ import annotations

from .windows import _MERGE, _WINDOW_TABLES

__all__ = ["claim_events_sql", "merge_usage_windows_sql"]


def claim_events_sql() -> str:
    """claim_events(claims json) -> the ids not seen before, as a JSON array (NULL: none).
    `claims`: [{"i": id, "t": time, "d": content digest}] in id order (the lock order)."""
    return """CREATE OR REPLACE FUNCTION claim_events(claims json) RETURNS text
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


def merge_usage_windows_sql() -> str:
    """merge_usage_windows(w jsonb, tenant text) -> (committed_line, committed_quantity) per
    window: each delta of `w` ([resolution, meter slug, group, window start, aggregation,
    quantity, event count, latest at, latest id], sorted: the lock order) merged into its
    window by the meter's rule, and the window as committed, as a JSON array for
    ClickHouse's rollups (windows.ROLLUP_LINE_COLUMNS)."""
    upserts = [f"""w_{resolution} AS (
        INSERT INTO {table} AS t
            (meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id)
        SELECT meter_slug, group_key, window_start, aggregation, quantity, event_count, latest_at, latest_id
        FROM deltas WHERE res = '{resolution}'{_MERGE})""" for resolution, table in _WINDOW_TABLES.items()]
    reads = [f"""SELECT json_build_array(tenant, '{resolution}', c.meter_slug, c.window_start, c.group_key,
               c.aggregation, c.quantity::text, c.event_count, coalesce(c.latest_at, 'epoch'),
               coalesce(c.latest_id, ''), c.revision)::text, c.quantity
        FROM w_{resolution} AS c""" for resolution in _WINDOW_TABLES]
    # jsonb, not json: `e->>k` on a json element parses the element again for each column
    # (9 per row, ~7 µs a row in PostgreSQL), on a jsonb one it is an indexed read.
    return f"""CREATE OR REPLACE FUNCTION merge_usage_windows(w jsonb, tenant text)
    RETURNS TABLE (committed_line text, committed_quantity numeric)
    LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
    RETURN QUERY WITH deltas AS (
        SELECT e->>0 AS res, e->>1 AS meter_slug, e->>2 AS group_key, CAST(e->>3 AS timestamptz) AS window_start,
               e->>4 AS aggregation, CAST(e->>5 AS numeric) AS quantity, CAST(e->>6 AS bigint) AS event_count,
               CAST(e->>7 AS timestamptz) AS latest_at, e->>8 AS latest_id
        FROM jsonb_array_elements(w) AS e),
    {(',' + chr(10) + '    ').join(upserts)}
    {(chr(10) + '    UNION ALL ').join(reads)};
END
$fn$"""
