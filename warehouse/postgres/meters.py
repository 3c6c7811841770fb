"""Meter definitions in the shared schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import orjson
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from metering import Meter

from .tables import meter

__all__ = ["insert_meter", "list_meters", "list_all_meters", "get_meter", "set_rollup_from", "list_meter_states",
           "meter_set_version",
           "lock_tenants", "applied_meter_counts", "claim_pending_meters", "mark_backfilled", "list_pending_meters"]


def _meter(row) -> Meter:
    return Meter(row.tenant_id, row.slug, row.event_type, row.aggregation, row.value_path,
                 tuple(row.group_by or ()), row.rollup_from)


async def insert_meter(conn: AsyncConnection, definition: Meter) -> Meter:
    row = (await conn.execute(
        insert(meter).values(tenant_id=definition.tenant_id, slug=definition.slug, event_type=definition.event_type,
                             aggregation=definition.aggregation, value_path=definition.value_path,
                             group_by=list(definition.group_by))
        .returning(*meter.c)
    )).one()
    return _meter(row)


async def list_meters(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[Meter]:
    rows = await conn.execute(select(meter).where(meter.c.tenant_id == tenant_id).order_by(meter.c.slug))
    return [_meter(r) for r in rows]


async def get_meter(conn: AsyncConnection, tenant_id: uuid.UUID, slug: str) -> Meter | None:
    row = (await conn.execute(select(meter).where(meter.c.tenant_id == tenant_id, meter.c.slug == slug))).one_or_none()
    return _meter(row) if row else None


async def list_all_meters(conn: AsyncConnection) -> list[Meter]:
    return [_meter(r) for r in await conn.execute(select(meter))]


async def set_rollup_from(conn: AsyncConnection,
                          starts: Iterable[tuple[uuid.UUID, str, datetime]]) -> dict[tuple[uuid.UUID, str], datetime]:
    """(tenant, slug, instant) from a worker that starts applying a meter; returns each
    meter's rollup_from as it now stands.

    The latest instant wins, atomically (GREATEST under the row lock): with several
    workers, each applies a new meter at its own refresh, and events any of them
    processed before that are missing from the rollups; the rollups are complete only
    after the last worker's instant (stream/README.md, "Rollups")."""
    rows = sorted({(str(tenant_id), slug): at for tenant_id, slug, at in starts}.items())
    if not rows:
        return {}
    # Two statements whatever the number of meters (a first refresh over 1,000 meters made
    # 1,000 round trips): lock the rows in (tenant, slug) order, so concurrent workers
    # wait for each other instead of deadlocking, then update them from one JSON parameter.
    starts_json = orjson.dumps([(tenant_id, slug, at) for (tenant_id, slug), at in rows]).decode()
    given = ("SELECT CAST(e->>0 AS uuid) AS tenant_id, e->>1 AS slug, CAST(e->>2 AS timestamptz) AS at "
             "FROM json_array_elements(CAST(:starts AS json)) AS e")
    await conn.execute(text(
        f"SELECT m.id FROM public.meter AS m JOIN ({given}) AS s ON m.tenant_id = s.tenant_id AND m.slug = s.slug "
        "ORDER BY m.tenant_id, m.slug FOR UPDATE OF m"), {"starts": starts_json})
    result = await conn.execute(text(
        "UPDATE public.meter AS m SET rollup_from = GREATEST(COALESCE(m.rollup_from, s.at), s.at) "
        f"FROM ({given}) AS s WHERE m.tenant_id = s.tenant_id AND m.slug = s.slug "
        "RETURNING m.tenant_id, m.slug, m.rollup_from"), {"starts": starts_json})
    current = {(tenant_id, slug): at for tenant_id, slug, at in result}
    return current


async def list_meter_states(conn: AsyncConnection) -> list[tuple[Meter, bool]]:
    """Every meter, with whether the stream backfilled it (stream/backfill.py)."""
    return [(_meter(r), r.backfilled_at is not None) for r in await conn.execute(select(meter))]


async def meter_set_version(conn: AsyncConnection) -> tuple[int, int]:
    """A fingerprint of every meter row (how many, and the sum of each whole row's hash):
    it changes when a meter is created, deleted, backfilled or given a rollup_from. The
    stream compares it every few seconds instead of listing every meter, which built an
    object per meter in each worker (with ~20,000 meters, a ~0.5 s stall every 5 s)."""
    count, hashes = (await conn.execute(text(
        "SELECT count(*), coalesce(sum(hashtext(CAST(m AS text))), 0) FROM meter AS m"))).one()
    return int(count), int(hashes)


async def list_pending_meters(conn: AsyncConnection) -> list[Meter]:
    """The meters the stream has not backfilled yet: what its timer looks for every few
    seconds (listing every meter for it cost the worker ~2 µs per event at 1,000 meters)."""
    return [_meter(r) for r in await conn.execute(select(meter).where(meter.c.backfilled_at.is_(None)))]


# Advisory lock namespace of "the tenant's meter set, as applied by the stream".
_METER_SET_LOCK = 0x4D455445  # "METE"


async def lock_tenants(conn: AsyncConnection, tenant_ids: Iterable[uuid.UUID], exclusive: bool) -> None:
    """Lock each tenant's meter set until the transaction ends: shared by every stream
    batch, exclusive by a backfill. So a backfill waits for the batches in flight and a
    batch committed after it sees its meter (stream/backfill.py). In tenant order, one
    statement: unnest yields the array in order, so every locker takes them in one order."""
    tenants = sorted(str(t) for t in set(tenant_ids))
    if not tenants:
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await conn.execute(text(f"SELECT count({function}(:space, hashtext(t))) FROM unnest(CAST(:tenants AS text[])) AS t"),
                       {"space": _METER_SET_LOCK, "tenants": tenants})


async def applied_meter_counts(conn: AsyncConnection, tenant_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Backfilled meters per tenant: what a batch must apply (absent tenants have none)."""
    rows = await conn.execute(text(
        "SELECT tenant_id, count(*) FROM public.meter WHERE backfilled_at IS NOT NULL "
        "AND tenant_id = ANY(CAST(:tenants AS uuid[])) GROUP BY tenant_id"), {"tenants": [str(t) for t in tenant_ids]})
    return {tenant_id: count for tenant_id, count in rows}


async def claim_pending_meters(conn: AsyncConnection, keys: Iterable[tuple[uuid.UUID, str]]) -> list[Meter]:
    """The given meters still waiting for their backfill, locked (another worker may have
    backfilled some since they were listed)."""
    pairs = _meter_keys_json(keys)
    if pairs is None:
        return []
    rows = await conn.execute(text(
        "SELECT m.* FROM public.meter AS m JOIN json_to_recordset(CAST(:pairs AS json)) AS k(t uuid, s text) "
        "ON m.tenant_id = k.t AND m.slug = k.s WHERE m.backfilled_at IS NULL ORDER BY m.tenant_id, m.slug "
        "FOR UPDATE OF m"), {"pairs": pairs})
    return [_meter(r) for r in rows]


async def mark_backfilled(conn: AsyncConnection, meters: Iterable[Meter]) -> None:
    pairs = _meter_keys_json((m.tenant_id, m.slug) for m in meters)
    if pairs is not None:
        await conn.execute(text(
            "UPDATE public.meter AS m SET backfilled_at = now() FROM json_to_recordset(CAST(:pairs AS json)) "
            "AS k(t uuid, s text) WHERE m.tenant_id = k.t AND m.slug = k.s"), {"pairs": pairs})


def _meter_keys_json(keys: Iterable[tuple[uuid.UUID, str]]) -> str | None:
    """(tenant, slug) keys as one JSON parameter for json_to_recordset, in a fixed order
    (rows are locked in it); None when there are none."""
    pairs = sorted({(str(t), slug) for t, slug in keys})
    return orjson.dumps([{"t": t, "s": s} for t, s in pairs]).decode() if pairs else None
