"""The caller's tenant's invoices (member and above), read from its own schema.

The schema is the token's tenant's: an invoice number of another tenant is looked
up in the caller's schema, where it does not exist, hence 404 and never 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from warehouse.postgres.invoices import get_invoice, list_invoices

from ..deps import CurrentTenant, EngineDep, require_role
from ..errors import ApiError
from .schemas import InvoicePublic

router = APIRouter(prefix="/v1/invoices", tags=["invoices"], dependencies=[Depends(require_role("member"))])


@router.get("", response_model=list[InvoicePublic])
async def list_tenant_invoices(tenant: CurrentTenant, engine: EngineDep) -> list[InvoicePublic]:
    async with engine.connect() as conn:
        stored = await list_invoices(conn, tenant.schema_name, tenant.id, tenant.slug)
    return [InvoicePublic.of(invoice) for invoice in stored]


@router.get("/{number}", response_model=InvoicePublic)
async def get_tenant_invoice(number: Annotated[str, Path(max_length=64)], tenant: CurrentTenant, engine: EngineDep) -> InvoicePublic:
    async with engine.connect() as conn:
        stored = await get_invoice(conn, tenant.schema_name, tenant.id, tenant.slug, number)
    if stored is None:
        raise ApiError(404, f"no invoice '{number}'")
    return InvoicePublic.of(stored)
