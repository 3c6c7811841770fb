"""What an invoice-run request needs: the Prefect client's adapter (opened once, on first use)
and the instant the period guard reads (one clock read per request, overridable in tests)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from ..auth import utcnow

if TYPE_CHECKING:
    from flows.invoice_runs import PrefectInvoiceRuns

__all__ = ["InvoiceRunsDep", "Now", "get_invoice_runs", "get_now"]


def get_now() -> datetime:
    return utcnow()


def get_invoice_runs(request: Request) -> PrefectInvoiceRuns:
    return request.app.state.wiring.open_invoice_runs()


Now = Annotated[datetime, Depends(get_now)]
# Any: the adapter's module imports Prefect, which the API loads only on first use.
InvoiceRunsDep = Annotated[Any, Depends(get_invoice_runs)]
