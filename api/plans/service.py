"""The price catalogue: plan slugs are unique."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_jobs.plans import Plan
from warehouse.postgres.plans import insert_plan, list_plans

from ..errors import ApiError, violated_constraint

__all__ = ["catalogue", "add_plan"]


async def catalogue(engine: AsyncEngine) -> list[Plan]:
    async with engine.connect() as conn:
        return await list_plans(conn)


async def add_plan(engine: AsyncEngine, definition: Plan) -> Plan:
    try:
        async with engine.begin() as conn:
            return await insert_plan(conn, definition)
    except IntegrityError as exc:
        if violated_constraint(exc) != "plan_slug_key":
            raise
        raise ApiError(409, f"a plan with slug '{definition.slug}' already exists", code="plan_exists",
                       details=[{"field": "slug", "location": "body", "reason": "already exists"}]) from exc
