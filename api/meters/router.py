"""Meters: any member of the tenant reads them; admins and above define them."""

from __future__ import annotations

from fastapi import APIRouter, status

from metering import Meter

from ..deps import CurrentPrincipal, DatabaseDep
from ..errors import error_responses
from ..subscriptions.deps import Now
from . import service
from .schemas import MeterCreate, MeterPublic

router = APIRouter(prefix="/v1/meters", tags=["meters"], responses=error_responses(401))


@router.get("", response_model=list[MeterPublic])
async def list_tenant_meters(principal: CurrentPrincipal, database: DatabaseDep) -> list[MeterPublic]:
    return [MeterPublic.of(meter) for meter in await service.tenant_meters(database, principal.tenant_id)]


@router.post("", response_model=MeterPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400, 403, (409, "A meter with this slug exists")))
async def create_meter(body: MeterCreate, principal: CurrentPrincipal, database: DatabaseDep, now: Now) -> MeterPublic:
    definition = Meter(principal.tenant_id, body.slug, body.event_type, body.aggregation, body.value_path,
                       tuple(body.group_by))
    return MeterPublic.of(await service.define_meter(database, definition, now, body.allow_negative))
