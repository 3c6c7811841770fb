"""The price catalogue: plan slugs are unique."""

from __future__ import annotations

from billing_jobs.plans import Plan
from warehouse.postgres.database import ConstraintViolation, Database
from warehouse.postgres.plans import insert_plan, list_plans

from ..domain_errors import Conflict, FieldProblem

__all__ = ["catalogue", "add_plan"]

_UNIQUE_SLUG = "plan_slug_key"


async def catalogue(database: Database) -> list[Plan]:
    async with database.connect() as conn:
        return await list_plans(conn)


async def add_plan(database: Database, definition: Plan) -> Plan:
    try:
        async with database.begin() as conn:
            return await insert_plan(conn, definition)
    except ConstraintViolation as exc:
        if exc.constraint != _UNIQUE_SLUG:
            raise
        raise Conflict(f"a plan with slug '{definition.slug}' already exists", code="plan_exists",
                       problems=[FieldProblem("slug", "already exists")]) from exc
