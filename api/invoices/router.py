"""The caller's tenant's invoices (member and above), read from its own schema.

The schema is the token's tenant's: an invoice number of another tenant is looked
up in the caller's schema, where it does not exist, hence 404 and never 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ..deps import CurrentTenant, DatabaseDep
from ..errors import error_responses
from ..fields import InvoiceNumber
from . import service
from .schemas import InvoicePublic

router = APIRouter(prefix="/v1/invoices", tags=["invoices"], responses=error_responses(401, 403))


@router.get("", response_model=list[InvoicePublic])
async def list_tenant_invoices(tenant: CurrentTenant, database: DatabaseDep) -> list[InvoicePublic]:
    return [InvoicePublic.of(invoice) for invoice in await service.tenant_invoices(database, tenant)]


@router.get("/{number}", response_model=InvoicePublic, responses=error_responses(404))
async def get_tenant_invoice(number: Annotated[InvoiceNumber, Path()], tenant: CurrentTenant, database: DatabaseDep) -> InvoicePublic:
    return InvoicePublic.of(await service.tenant_invoice(database, tenant, number))
