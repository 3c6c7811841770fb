"""Tenant API keys (for the ingest endpoint): admin and above."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response, status

from ..deps import CurrentPrincipal, DatabaseDep, require_role
from ..errors import error_responses
from . import service
from .schemas import ApiKeyCreate, ApiKeyCreatedPublic, ApiKeyPublic

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"], dependencies=[Depends(require_role("admin"))],
                   responses=error_responses(401, 403))


@router.get("", response_model=list[ApiKeyPublic])
async def list_keys(principal: CurrentPrincipal, database: DatabaseDep) -> list[ApiKeyPublic]:
    return [ApiKeyPublic.of(record) for record in await service.tenant_keys(database, principal.tenant_id)]


@router.post("", response_model=ApiKeyCreatedPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400))
async def create_key(body: ApiKeyCreate, principal: CurrentPrincipal, database: DatabaseDep) -> ApiKeyCreatedPublic:
    record, plaintext = await service.issue_key(database, principal.tenant_id, body.name)
    return ApiKeyCreatedPublic.created(record, plaintext)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=error_responses((404, "No active key with this id in your tenant")))
async def revoke_key(key_id: uuid.UUID, principal: CurrentPrincipal, database: DatabaseDep) -> Response:
    await service.revoke_key(database, principal.tenant_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
