"""Invoice runs for operators: start one for a closed period, list them, read one. Each is a
flow run of the generate-invoices deployment, so it is also in the Prefect UI."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from ..errors import error_responses
from ..operator_deps import require_permission
from ..operator_tokens import OperatorPrincipal
from . import service
from .deps import InvoiceRunsDep, Now
from .schemas import InvoiceRunCreate, InvoiceRunPublic

# The role table (api/operator_roles.py): invoice runs are finance's.
BillingOperator = Annotated[OperatorPrincipal, Depends(require_permission("billing.run"))]

router = APIRouter(prefix="/v1/operator/invoice-runs", tags=["invoice runs"], responses=error_responses(
    (401, "No operator access token, or not an operator's"), (403, "The operator's role may not run billing"),
    (503, "Prefect does not answer, or the invoice deployment is not served")))


@router.post("", response_model=InvoiceRunPublic, status_code=status.HTTP_202_ACCEPTED,
             responses=error_responses(400, (422, "A body field out of its schema, or the period has not closed "
                                                  "(code period_not_closed)")))
async def start(body: InvoiceRunCreate, operator: BillingOperator, runs: InvoiceRunsDep, now: Now) -> InvoiceRunPublic:
    """Start a run of generate-invoices (a Prefect flow run): accepted, then followed with GET.
    An open period needs close_now with the reason (the calling operator is recorded as who
    closed it, in the run's report); a future one is refused."""
    return InvoiceRunPublic.of(await service.start_run(runs, body, now, operator))


@router.get("", response_model=list[InvoiceRunPublic])
async def list_runs(_operator: BillingOperator, runs: InvoiceRunsDep,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[InvoiceRunPublic]:
    """The latest runs, newest first, each with its state and per-tenant outcomes."""
    return [InvoiceRunPublic.of(run) for run in await service.list_runs(runs, limit)]


@router.get("/{run_id}", response_model=InvoiceRunPublic,
            responses=error_responses((404, "Not a run of the invoice deployment")))
async def get_run(run_id: uuid.UUID, _operator: BillingOperator, runs: InvoiceRunsDep) -> InvoiceRunPublic:
    return InvoiceRunPublic.of(await service.get_run(runs, run_id))
