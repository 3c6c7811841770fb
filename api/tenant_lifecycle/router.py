"""The caller's own tenant: its standing; for its owner, the export and the deletion."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import StreamingResponse

from ..caller import caller_actor
from ..deps import CurrentCaller, CurrentPrincipal, DatabaseDep, LimitsDep
from ..errors import error_responses
from ..operators.schemas import TenantStandingPublic
from ..subscriptions.deps import Now
from . import service

router = APIRouter(prefix="/v1/tenant", tags=["tenant lifecycle"],
                   responses=error_responses(401, (403, "Only the tenant's owner may do this")))

# The owner only, by the role table (api/permissions.py: delete_tenant).
Owner = CurrentCaller


@router.get("", response_model=TenantStandingPublic)
async def get_standing(principal: CurrentPrincipal, database: DatabaseDep) -> TenantStandingPublic:
    """The tenant's status (active, suspended, deleting), why, and its deletion dates if any."""
    return TenantStandingPublic.of(await service.standing(database, principal.tenant_id))


@router.get("/export", responses={200: {"description": "The tenant's data as one JSON document (a download)",
                                        "content": {"application/json": {"schema": {"type": "object"}}}}})
async def download_export(owner: Owner, database: DatabaseDep, now: Now) -> StreamingResponse:
    """Meters, subscriptions, API keys (no secrets), invoices with lines and payments, hourly and daily
    usage windows, streamed as it is read. Downloading it whole is what allows the owner to ask for the
    tenant's deletion afterwards."""
    filename, document = await service.export(database, owner.tenant.id, now, caller_actor(owner))
    return StreamingResponse(document, media_type="application/json",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/deletion", response_model=TenantStandingPublic, status_code=status.HTTP_202_ACCEPTED,
             responses=error_responses((409, "No recent export, or a deletion is already scheduled")))
async def request_deletion(owner: Owner, database: DatabaseDep, limits: LimitsDep, now: Now) -> TenantStandingPublic:
    """Schedules the purge after the grace period (METERLINE_API__TENANT_DELETION_GRACE_DAYS); ingest
    refuses the keys from now on. Needs an export taken recently (METERLINE_API__TENANT_EXPORT_MAX_AGE_H)."""
    standing = await service.request_deletion(database, limits, owner.tenant.id, now, caller_actor(owner))
    return TenantStandingPublic.of(standing)


@router.delete("/deletion", response_model=TenantStandingPublic,
               responses=error_responses((409, "No deletion scheduled, or the grace period is over")))
async def cancel_deletion(owner: Owner, database: DatabaseDep, now: Now) -> TenantStandingPublic:
    """Cancels a scheduled deletion within its grace period; a suspension standing before it stays."""
    standing = await service.withdraw_deletion(database, owner.tenant.id, now, caller_actor(owner))
    return TenantStandingPublic.of(standing)
