"""The price catalogue: every signed-in user reads it; only the platform operator adds to it."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.exc import IntegrityError

from warehouse.postgres.plans import insert_plan, list_plans

from ..deps import CurrentPrincipal, EngineDep, OperatorDep
from ..errors import ApiError, violated_constraint
from .schemas import PlanCreate, PlanPublic

router = APIRouter(prefix="/v1/plans", tags=["plans"])


@router.get("", response_model=list[PlanPublic])
async def list_catalogue(principal: CurrentPrincipal, engine: EngineDep) -> list[PlanPublic]:
    async with engine.connect() as conn:
        return await list_plans(conn)


@router.post("", response_model=PlanPublic, status_code=status.HTTP_201_CREATED,
             responses={401: {"description": "No operator token"}, 403: {"description": "Not the operator token"}})
async def create_plan(body: PlanCreate, _operator: OperatorDep, engine: EngineDep) -> PlanPublic:
    try:
        async with engine.begin() as conn:
            return await insert_plan(conn, body)
    except IntegrityError as exc:
        if violated_constraint(exc) != "plan_slug_key":
            raise
        raise ApiError(409, f"a plan with slug '{body.slug}' already exists", code="plan_exists",
                       details=[{"field": "slug", "location": "body", "reason": "already exists"}]) from exc
