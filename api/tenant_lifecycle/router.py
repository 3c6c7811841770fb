"""The caller's own tenant: its standing; for its owner, the export and the deletion."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Response, status

from ..auth import Principal
from ..deps import CurrentPrincipal, DatabaseDep, LimitsDep, require_role
from ..errors import error_responses
from ..operators.schemas import TenantStandingPublic
from ..subscriptions.deps import Now
from . import service

router = APIRouter(prefix="/v1/tenant", tags=["tenant lifecycle"],
                   responses=error_responses(401, (403, "Only the tenant's owner may do this")))

Owner = Annotated[Principal, Depends(require_role("owner"))]


@router.get("", response_model=TenantStandingPublic)
async def get_standing(principal: CurrentPrincipal, database: DatabaseDep) -> TenantStandingPublic:
    """The tenant's status (active, suspended, deleting), why, and its deletion dates if any."""
    return TenantStandingPublic.of(await service.standing(database, principal.tenant_id))


@router.get("/export", responses={200: {"description": "The tenant's data as one JSON document (a download)",
                                        "content": {"application/json": {"schema": {"type": "object"}}}}})
async def download_export(owner: Owner, database: DatabaseDep, now: Now) -> Response:
    """Meters, subscriptions, API keys (no secrets), invoices with lines and payments, hourly and daily
    usage windows. Taking it is what allows the owner to ask for the tenant's deletion afterwards."""
    body = await service.export(database, owner.tenant_id, now)
    filename = f"meterline-{body['tenant']['slug']}-{now:%Y%m%dT%H%M%SZ}.json"
    return Response(orjson.dumps(body), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/deletion", response_model=TenantStandingPublic, status_code=status.HTTP_202_ACCEPTED,
             responses=error_responses((409, "No recent export, or a deletion is already scheduled")))
async def request_deletion(owner: Owner, database: DatabaseDep, limits: LimitsDep, now: Now) -> TenantStandingPublic:
    """Schedules the purge after the grace period (METERLINE_API__TENANT_DELETION_GRACE_DAYS); ingest
    refuses the keys from now on. Needs an export taken recently (METERLINE_API__TENANT_EXPORT_MAX_AGE_H)."""
    return TenantStandingPublic.of(await service.request_deletion(database, limits, owner.tenant_id, now))


@router.delete("/deletion", response_model=TenantStandingPublic,
               responses=error_responses((409, "No deletion scheduled, or the grace period is over")))
async def cancel_deletion(owner: Owner, database: DatabaseDep, now: Now) -> TenantStandingPublic:
    """Cancels a scheduled deletion within its grace period; a suspension standing before it stays."""
    return TenantStandingPublic.of(await service.withdraw_deletion(database, owner.tenant_id, now))
