"""Meters: any member of the tenant reads them; admins and above define them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from sqlalchemy.exc import IntegrityError

from stream.aggregation import Meter
from warehouse.postgres.meters import insert_meter, list_meters

from ..deps import CurrentPrincipal, EngineDep, require_role
from ..errors import ApiError, violated_constraint
from .schemas import MeterCreate, MeterPublic

router = APIRouter(prefix="/v1/meters", tags=["meters"])


@router.get("", response_model=list[MeterPublic])
async def list_tenant_meters(principal: CurrentPrincipal, engine: EngineDep) -> list[MeterPublic]:
    async with engine.connect() as conn:
        return [MeterPublic.of(meter) for meter in await list_meters(conn, principal.tenant_id)]


@router.post("", response_model=MeterPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[Depends(require_role("admin"))])
async def create_meter(body: MeterCreate, principal: CurrentPrincipal, engine: EngineDep) -> MeterPublic:
    definition = Meter(principal.tenant_id, body.slug, body.event_type, body.aggregation, body.value_path,
                       tuple(body.group_by))
    try:
        async with engine.begin() as conn:
            created = await insert_meter(conn, definition)
    except IntegrityError as exc:
        if violated_constraint(exc) != "meter_tenant_id_slug_key":
            raise
        raise ApiError(409, f"a meter with slug '{body.slug}' already exists", code="meter_exists",
                       details=[{"field": "slug", "location": "body", "reason": "already exists"}]) from exc
    return MeterPublic.of(created)
