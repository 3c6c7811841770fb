"""The caller's tenant's invoices, read from its own schema: the issued ones (member and
above) and the open period's preview (viewer and above).

The schema is the token's tenant's: an invoice number of another tenant is looked
up in the caller's schema, where it does not exist, hence 404 and never 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ..deps import CurrentTenant, DatabaseDep, require_role
from ..errors import error_responses
from ..fields import InvoiceNumber, text
from ..subscriptions.deps import Now
from ..usage.query_deps import FineUsageReaderDep, WatermarkDep
from . import service
from .line_schemas import LineEventPublic, LineEventsPublic, LineWindowsPublic
from .line_usage import line_events, line_windows
from .preview import preview_open_period
from .schemas import InvoicePreviewPublic, InvoicePublic

router = APIRouter(prefix="/v1/invoices", tags=["invoices"], responses=error_responses(401, 403))

_MEMBER = [Depends(require_role("member"))]
_LINE_ERRORS = error_responses((404, "No such invoice or line"), (409, "The period's subscriptions changed"))
Number = Annotated[InvoiceNumber, Path()]
LineId = Annotated[int, Path(ge=1, le=100_000, description="The line's position on the invoice")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[text(1024) | None, Query(description="From the previous page")]


@router.get("", response_model=list[InvoicePublic], dependencies=_MEMBER)
async def list_tenant_invoices(tenant: CurrentTenant, database: DatabaseDep) -> list[InvoicePublic]:
    return [InvoicePublic.of(invoice) for invoice in await service.tenant_invoices(database, tenant)]


@router.get("/preview", response_model=InvoicePreviewPublic, dependencies=[Depends(require_role("viewer"))],
            responses=error_responses((404, "No subscription in force in the open period"),
                                      (409, "A priced meter cannot be billed")))
async def preview(tenant: CurrentTenant, database: DatabaseDep, watermarks: WatermarkDep,
                  now: Now) -> InvoicePreviewPublic:
    """The open period's invoice so far, line by line, rated by the code that rates the final
    invoice: if nothing more arrives before the period closes, the invoice will be this.
    `final_up_to` is the freshness watermark: the usage of every event accepted up to it is in."""
    # The watermark first: what it claims was applied before the usage is read.
    watermark = await watermarks.watermark()
    draft = await preview_open_period(database, tenant, now)
    return InvoicePreviewPublic.of(draft, now, watermark)


@router.get("/{number}", response_model=InvoicePublic, dependencies=_MEMBER, responses=error_responses(404))
async def get_tenant_invoice(number: Annotated[InvoiceNumber, Path()], tenant: CurrentTenant, database: DatabaseDep) -> InvoicePublic:
    return InvoicePublic.of(await service.tenant_invoice(database, tenant, number))


@router.get("/{number}/lines/{line_id}/windows", response_model=LineWindowsPublic, dependencies=_MEMBER,
            responses=_LINE_ERRORS)
async def usage_line_windows(number: Number, line_id: LineId, tenant: CurrentTenant, database: DatabaseDep,
                             limit: Limit = 500, cursor: Cursor = None) -> LineWindowsPublic:
    """The hourly windows of the line's meter that its quantity was rated from (422 for a line
    not rated from usage: a fee, a minimum, a correction). Their total, combined as billing
    combines them, is the line's quantity unless included usage or tiers split it."""
    return LineWindowsPublic.of(await line_windows(database, tenant, number, line_id, limit, cursor))


@router.get("/{number}/lines/{line_id}/events", response_model=LineEventsPublic, dependencies=_MEMBER,
            responses={**_LINE_ERRORS, **error_responses(503)})
async def usage_line_events(number: Number, line_id: LineId, tenant: CurrentTenant, database: DatabaseDep,
                            reader: FineUsageReaderDep, limit: Limit = 100, cursor: Cursor = None) -> LineEventsPublic:
    """The raw events in the line's windows that its meter counts, oldest first, paged: their
    count and values add up to the windows."""
    source, rows, next_cursor = await line_events(database, reader, tenant, number, line_id, limit, cursor)
    return LineEventsPublic(**LineEventsPublic.fields_of(number, source), events=[LineEventPublic.of(r) for r in rows],
                            next_cursor=next_cursor)
