"""Figures of every tenant that the admin API's /metrics reports: issued invoice totals."""

from __future__ import annotations

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_jobs.analytics import ISSUED_STATUSES

from .analytics import _tenant_schemas, _union

__all__ = ["issued_invoice_totals"]

_ISSUED = """
    SELECT currency, count(*) AS invoices, sum(total_minor) AS total_minor
    FROM "{schema}".invoice WHERE status IN :issued GROUP BY currency"""


async def issued_invoice_totals(conn: AsyncConnection) -> dict[str, tuple[int, int]]:
    """Per currency: issued invoices (any status but draft and void) and their totals in
    minor units, over every tenant: one UNION ALL over the tenants' schemas."""
    schemas = await _tenant_schemas(conn, None)
    if not schemas:
        return {}
    query = text(f"SELECT currency, sum(invoices), sum(total_minor) FROM ({_union(schemas, _ISSUED)}) AS t "
                 "GROUP BY currency").bindparams(bindparam("issued", expanding=True))
    rows = await conn.execute(query, {"issued": sorted(ISSUED_STATUSES)})
    return {currency: (int(count), int(total)) for currency, count, total in rows}
