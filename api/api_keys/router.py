"""Tenant API keys (for the ingest endpoint): admin and above."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response, status

from warehouse.postgres.api_keys import create_api_key, list_api_keys, revoke_api_key

from ..deps import CurrentPrincipal, EngineDep, require_role
from ..errors import ApiError
from .schemas import ApiKeyCreate, ApiKeyCreatedPublic, ApiKeyPublic

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"], dependencies=[Depends(require_role("admin"))])


@router.get("", response_model=list[ApiKeyPublic])
async def list_keys(principal: CurrentPrincipal, engine: EngineDep) -> list[ApiKeyPublic]:
    async with engine.connect() as conn:
        return [ApiKeyPublic.of(record) for record in await list_api_keys(conn, principal.tenant_id)]


@router.post("", response_model=ApiKeyCreatedPublic, status_code=status.HTTP_201_CREATED)
async def create_key(body: ApiKeyCreate, principal: CurrentPrincipal, engine: EngineDep) -> ApiKeyCreatedPublic:
    async with engine.begin() as conn:
        record, plaintext = await create_api_key(conn, principal.tenant_id, body.name)
    return ApiKeyCreatedPublic.created(record, plaintext)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def revoke_key(key_id: uuid.UUID, principal: CurrentPrincipal, engine: EngineDep) -> Response:
    async with engine.begin() as conn:
        revoked = await revoke_api_key(conn, principal.tenant_id, key_id)
    if not revoked:
        # Unknown, already revoked, or another tenant's: the same answer, so ids leak nothing.
        raise ApiError(404, "no active API key with this id")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
