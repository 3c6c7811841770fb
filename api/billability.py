"""One rule behind two doors: a plan may not price a meter billing cannot combine.

Subscribing to (or switching to) a plan that prices such a meter, and defining such a
meter while the live plan prices its slug, are both refused up front (422): the tenant's
invoice would fail later (billing_jobs.usage_totals refuses it). The two messages differ
only in which side the caller was changing.
"""

from __future__ import annotations

from collections.abc import Mapping

from billing_jobs.plans import Plan
from billing_jobs.usage_totals import UNBILLABLE_REASON, priced_meters, unbillable_meters

from .domain_errors import FieldProblem, InvalidInput

__all__ = ["could_be_unbillable", "refuse_unbillable"]

_CODE = "meter_not_billable"


def could_be_unbillable(slug: str, aggregation: str) -> bool:
    """Whether a meter of this aggregation would be refused if a plan priced it."""
    return bool(unbillable_meters([slug], {slug: aggregation}))


def refuse_unbillable(plan: Plan, aggregations: Mapping[str, str], *, new_meter: str | None = None) -> None:
    """InvalidInput when `plan` prices a meter of `aggregations` (slug -> aggregation) that cannot
    be billed. `new_meter`: the caller is defining that meter, not choosing the plan."""
    refused = unbillable_meters(priced_meters([plan]), aggregations)
    if not refused:
        return
    if new_meter is not None:
        raise InvalidInput(f"meter '{new_meter}' cannot be {aggregations[new_meter]}: the live plan '{plan.slug}' "
                           f"prices it", code=_CODE,
                           problems=[FieldProblem("aggregation", f"meter '{new_meter}': {UNBILLABLE_REASON}")])
    names = ", ".join(f"'{slug}'" for slug in refused)
    raise InvalidInput(f"plan '{plan.slug}' prices the UNIQUE_COUNT meter {names}, which cannot be billed yet",
                       code=_CODE,
                       problems=[FieldProblem("plan_slug", f"meter '{slug}': {UNBILLABLE_REASON}") for slug in refused])
