"""The caller's tenant's payments (member and above), as Stripe's webhooks recorded them.

Read from the token's tenant's own schema: another tenant's payment id is not there, hence 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ..deps import CurrentTenant, DatabaseDep, require_role
from ..errors import error_responses
from ..fields import text
from . import service
from .schemas import PaymentPage, PaymentPublic

router = APIRouter(prefix="/v1/payments", tags=["payments"], dependencies=[Depends(require_role("member"))],
                   responses=error_responses(401, 403))

Cursor = text(1024)


@router.get("", response_model=PaymentPage)
async def list_tenant_payments(tenant: CurrentTenant, database: DatabaseDep,
                               limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                               cursor: Annotated[Cursor | None, Query(description="From the previous page")] = None,
                               ) -> PaymentPage:
    rows, next_cursor = await service.payments_page(database, tenant, limit, cursor)
    return PaymentPage(payments=[PaymentPublic.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/{payment_id}", response_model=PaymentPublic, responses=error_responses(404))
async def get_tenant_payment(payment_id: Annotated[uuid.UUID, Path()], tenant: CurrentTenant,
                             database: DatabaseDep) -> PaymentPublic:
    return PaymentPublic.of(await service.one_payment(database, tenant, payment_id))
