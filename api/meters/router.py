"""Meters: any member of the tenant reads them; admins and above define them."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.usage_totals import UNBILLABLE_REASON, priced_meters, unbillable_meters
from metering import Meter
from warehouse.postgres.meters import insert_meter, list_meters
from warehouse.postgres.plans import current_subscription

from ..deps import CurrentPrincipal, EngineDep, require_role
from ..errors import ApiError, violated_constraint
from ..subscriptions.deps import Now
from .schemas import MeterCreate, MeterPublic

router = APIRouter(prefix="/v1/meters", tags=["meters"])


async def _refuse_unbillable(conn: AsyncConnection, tenant_id: uuid.UUID, slug: str, now: datetime) -> None:
    """422 for a UNIQUE_COUNT meter the live plan prices: billing cannot combine its hourly
    rows yet, and the tenant's invoice would fail (billing_jobs.usage_totals)."""
    live = await current_subscription(conn, tenant_id, now)
    if live is not None and unbillable_meters(priced_meters([live.plan]), {slug: "UNIQUE_COUNT"}):
        raise ApiError(422, f"meter '{slug}' cannot be UNIQUE_COUNT: the live plan '{live.plan.slug}' prices it",
                       code="meter_not_billable",
                       details=[{"field": "aggregation", "location": "body",
                                 "reason": f"meter '{slug}': {UNBILLABLE_REASON}"}])


@router.get("", response_model=list[MeterPublic])
async def list_tenant_meters(principal: CurrentPrincipal, engine: EngineDep) -> list[MeterPublic]:
    async with engine.connect() as conn:
        return [MeterPublic.of(meter) for meter in await list_meters(conn, principal.tenant_id)]


@router.post("", response_model=MeterPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(require_role("admin"))])
async def create_meter(body: MeterCreate, principal: CurrentPrincipal, engine: EngineDep, now: Now) -> MeterPublic:
    definition = Meter(principal.tenant_id, body.slug, body.event_type, body.aggregation, body.value_path,
                       tuple(body.group_by))
    try:
        async with engine.begin() as conn:
            if body.aggregation == "UNIQUE_COUNT":
                await _refuse_unbillable(conn, principal.tenant_id, body.slug, now)
            created = await insert_meter(conn, definition)
    except IntegrityError as exc:
        if violated_constraint(exc) != "meter_tenant_id_slug_key":
            raise
        raise ApiError(409, f"a meter with slug '{body.slug}' already exists", code="meter_exists",
                       details=[{"field": "slug", "location": "body", "reason": "already exists"}]) from exc
    return MeterPublic.of(created)
