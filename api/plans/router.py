"""The price catalogue: every signed-in user reads it; only finance operators add to it (api/operator_roles.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from ..deps import CurrentPrincipal, DatabaseDep
from ..operator_deps import require_permission
from ..errors import error_responses
from . import service
from .schemas import PlanCreate, PlanPublic

router = APIRouter(prefix="/v1/plans", tags=["plans"])


@router.get("", response_model=list[PlanPublic], responses=error_responses(401))
async def list_catalogue(principal: CurrentPrincipal, database: DatabaseDep) -> list[PlanPublic]:
    return await service.catalogue(database)


@router.post("", response_model=PlanPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400, (401, "No operator access token, or not one (a tenant's token)"),
                                       (403, "The operator's role may not write the catalogue"),
                                       (409, "A plan with this slug exists")))
async def create_plan(body: PlanCreate, _operator: Annotated[object, Depends(require_permission("plans.write"))], database: DatabaseDep) -> PlanPublic:
    return await service.add_plan(database, body)
