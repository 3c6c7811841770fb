"""Defining meters: a UNIQUE_COUNT meter the live plan prices is refused, a slug is unique per tenant."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billing_jobs.usage_totals import UNBILLABLE_REASON, priced_meters, unbillable_meters
from stream.aggregation import Meter
from warehouse.postgres.meters import insert_meter, list_meters
from warehouse.postgres.plans import current_subscription

from ..errors import ApiError, violated_constraint

__all__ = ["tenant_meters", "define_meter"]


async def _refuse_unbillable(conn: AsyncConnection, tenant_id: uuid.UUID, slug: str, now: datetime) -> None:
    """422 for a UNIQUE_COUNT meter the live plan prices: billing cannot combine its hourly
    rows yet, and the tenant's invoice would fail (billing_jobs.usage_totals)."""
    live = await current_subscription(conn, tenant_id, now)
    if live is not None and unbillable_meters(priced_meters([live.plan]), {slug: "UNIQUE_COUNT"}):
        raise ApiError(422, f"meter '{slug}' cannot be UNIQUE_COUNT: the live plan '{live.plan.slug}' prices it",
                       code="meter_not_billable",
                       details=[{"field": "aggregation", "location": "body",
                                 "reason": f"meter '{slug}': {UNBILLABLE_REASON}"}])


async def tenant_meters(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[Meter]:
    async with engine.connect() as conn:
        return await list_meters(conn, tenant_id)


async def define_meter(engine: AsyncEngine, definition: Meter, now: datetime) -> Meter:
    try:
        async with engine.begin() as conn:
            if definition.aggregation == "UNIQUE_COUNT":
                await _refuse_unbillable(conn, definition.tenant_id, definition.slug, now)
            created = await insert_meter(conn, definition)
    except IntegrityError as exc:
        if violated_constraint(exc) != "meter_tenant_id_slug_key":
            raise
        raise ApiError(409, f"a meter with slug '{definition.slug}' already exists", code="meter_exists",
                       details=[{"field": "slug", "location": "body", "reason": "already exists"}]) from exc
    return created
