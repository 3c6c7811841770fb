"""Tenant API keys (for the ingest endpoint): members their own, admins and above everyone's."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from ..deps import CurrentCaller, DatabaseDep
from ..errors import error_responses
from . import service
from .schemas import ApiKeyCreate, ApiKeyCreatedPublic, ApiKeyPublic

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"], responses=error_responses(401, 403))


@router.get("", response_model=list[ApiKeyPublic])
async def list_keys(caller: CurrentCaller, database: DatabaseDep) -> list[ApiKeyPublic]:
    return [ApiKeyPublic.of(record) for record in await service.tenant_keys(database, caller)]


@router.post("", response_model=ApiKeyCreatedPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400))
async def create_key(body: ApiKeyCreate, caller: CurrentCaller, database: DatabaseDep) -> ApiKeyCreatedPublic:
    record, plaintext = await service.issue_key(database, caller, body.name)
    return ApiKeyCreatedPublic.created(record, plaintext)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=error_responses((404, "No active key with this id in your tenant")))
async def revoke_key(key_id: uuid.UUID, caller: CurrentCaller, database: DatabaseDep) -> Response:
    await service.revoke_key(database, caller, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
