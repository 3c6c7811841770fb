"""Plans are the billing domain's own pydantic model (billing_jobs.plans.Plan).

It is already an API-grade schema (strict, floats refused, Decimals as strings),
so the API serves it as is rather than copying it field by field. Its one free-text
field, `name`, is narrowed on the way in to the API's text rule (api.fields): no
control characters, which PostgreSQL would refuse.
"""

from __future__ import annotations

from pydantic import Field

from billing_jobs.plans import Plan

from ..fields import Name

__all__ = ["PlanCreate", "PlanPublic"]


class PlanCreate(Plan):
    name: Name = Field(examples=["Starter"])


PlanPublic = Plan
