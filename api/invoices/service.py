"""A tenant's invoices, read from its own schema."""

from __future__ import annotations

from billing_jobs.ports import StoredInvoice
from warehouse.postgres.database import Database
from warehouse.postgres.invoices import get_invoice, list_invoices
from warehouse.postgres.tenants import TenantRecord

from ..domain_errors import NotFound

__all__ = ["tenant_invoices", "tenant_invoice"]


async def tenant_invoices(database: Database, tenant: TenantRecord) -> list[StoredInvoice]:
    async with database.connect() as conn:
        return await list_invoices(conn, tenant.id, tenant.slug)


async def tenant_invoice(database: Database, tenant: TenantRecord, number: str) -> StoredInvoice:
    async with database.connect() as conn:
        stored = await get_invoice(conn, tenant.id, tenant.slug, number)
    if stored is None:
        raise NotFound(f"no invoice '{number}'")
    return stored
