"""A tenant's invoices, read from its own schema."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from billing_jobs.ports import StoredInvoice
from warehouse.postgres.invoices import get_invoice, list_invoices
from warehouse.postgres.tenants import TenantRecord

from ..errors import ApiError

__all__ = ["tenant_invoices", "tenant_invoice"]


async def tenant_invoices(engine: AsyncEngine, tenant: TenantRecord) -> list[StoredInvoice]:
    async with engine.connect() as conn:
        return await list_invoices(conn, tenant.schema_name, tenant.id, tenant.slug)


async def tenant_invoice(engine: AsyncEngine, tenant: TenantRecord, number: str) -> StoredInvoice:
    async with engine.connect() as conn:
        stored = await get_invoice(conn, tenant.schema_name, tenant.id, tenant.slug, number)
    if stored is None:
        raise ApiError(404, f"no invoice '{number}'")
    return stored
