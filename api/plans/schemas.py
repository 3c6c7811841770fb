"""Plans are the billing domain's own pydantic model (billing_jobs.plans.Plan).

It is already an API-grade schema (strict, floats refused, Decimals as strings),
so the API serves it as is rather than copying it field by field.
"""

from __future__ import annotations

from billing_jobs.plans import Plan

__all__ = ["PlanCreate", "PlanPublic"]

PlanCreate = Plan
PlanPublic = Plan
