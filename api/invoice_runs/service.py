"""Invoice runs: the period guard first (a refused period never reaches Prefect), then the
generate-invoices deployment through flows.invoice_runs."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from billing_jobs.invoicing import billing_period
from billing_jobs.period_guard import CloseNow, run_period_refusal

from ..domain_errors import FieldProblem, InvalidInput, NotFound, Unavailable
from .schemas import InvoiceRunCreate

__all__ = ["get_run", "list_runs", "start_run"]


async def start_run(runs, body: InvoiceRunCreate, now: datetime, operator):  # operator: OperatorPrincipal
    """A flow run of the deployment for a closed period (or an open one the operator closes now)."""
    year, month = (int(part) for part in body.period.split("-"))
    start, end = billing_period(date(year, month, 1))
    # Who closed the period is the authenticated operator, never a name in the body.
    close_now = None if body.close_now is None else CloseNow(operator=f"operator {operator.operator_id}",
                                                             reason=body.close_now.reason)
    refusal = run_period_refusal(start, end, now, close_now)
    if refusal is not None:
        raise InvalidInput(refusal, code="period_not_closed", problems=[FieldProblem("period", refusal)])
    parameters = {"period": body.period, "tenants": None if body.tenants is None else [str(t) for t in body.tenants],
                  "dry_run": body.dry_run,
                  "close_now": None if close_now is None else close_now.model_dump()}
    return await _unless_unavailable(runs.start(parameters))


async def list_runs(runs, limit: int):
    return await _unless_unavailable(runs.list(limit))


async def get_run(runs, run_id: uuid.UUID):
    run = await _unless_unavailable(runs.get(run_id))
    if run is None:
        raise NotFound("No such invoice run", problems=[FieldProblem("run_id", "not a run of the invoice "
                                                                               "deployment", "path")])
    return run


async def _unless_unavailable(call):
    from flows.invoice_runs import InvoiceRunsUnavailable

    try:
        return await call
    except InvoiceRunsUnavailable as exc:
        raise Unavailable(str(exc), code="prefect_unavailable") from exc
