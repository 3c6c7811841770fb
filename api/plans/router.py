"""The price catalogue: every signed-in user reads it; only the platform operator adds to it."""

from __future__ import annotations

from fastapi import APIRouter, status

from ..deps import CurrentPrincipal, DatabaseDep, OperatorDep
from ..errors import error_responses
from . import service
from .schemas import PlanCreate, PlanPublic

router = APIRouter(prefix="/v1/plans", tags=["plans"])


@router.get("", response_model=list[PlanPublic], responses=error_responses(401))
async def list_catalogue(principal: CurrentPrincipal, database: DatabaseDep) -> list[PlanPublic]:
    return await service.catalogue(database)


@router.post("", response_model=PlanPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400, (401, "No operator token"), (403, "Not the operator token"),
                                       (409, "A plan with this slug exists")))
async def create_plan(body: PlanCreate, _operator: OperatorDep, database: DatabaseDep) -> PlanPublic:
    return await service.add_plan(database, body)
