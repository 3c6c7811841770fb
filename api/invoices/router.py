"""The caller's tenant's invoices, read from its own schema: the issued ones (member and
above) and the open period's preview (viewer and above).

The schema is the token's tenant's: an invoice number of another tenant is looked
up in the caller's schema, where it does not exist, hence 404 and never 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from ..deps import CurrentTenant, DatabaseDep, require_role
from ..errors import error_responses
from ..fields import InvoiceNumber
from ..subscriptions.deps import Now
from ..usage.query_deps import WatermarkDep
from . import service
from .preview import preview_open_period
from .schemas import InvoicePreviewPublic, InvoicePublic

router = APIRouter(prefix="/v1/invoices", tags=["invoices"], responses=error_responses(401, 403))

_MEMBER = [Depends(require_role("member"))]


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
