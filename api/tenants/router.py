"""Public tenant registration."""

from __future__ import annotations

from fastapi import APIRouter, status

from ..api_keys.schemas import ApiKeyCreatedPublic
from ..deps import ClientAddressDep, DatabaseDep, JwtDep, LimitsDep
from ..errors import error_responses
from ..sessions.schemas import AccessTokenPublic
from ..sessions.service import open_session
from .deps import CustomerRegistryDep
from .schemas import TenantCreate, TenantPublic, TenantRegistrationPublic, UserPublic
from .service import register_tenant

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


@router.post("", response_model=TenantRegistrationPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400, (409, "The slug or the owner's email is taken"),
                                       (502, "Stripe refused the customer; nothing was created"),
                                       (503, "Stripe unreachable; nothing was created")))
async def register(body: TenantCreate, jwt: JwtDep, limits: LimitsDep, database: DatabaseDep,
                   customers: CustomerRegistryDep, client_address: ClientAddressDep) -> TenantRegistrationPublic:
    """Create a tenant, its schema, its owner, its Stripe customer and a first API key (shown once).

    The owner's password must be long and hard to guess; registrations are limited per
    client address and in total per hour (429, Retry-After)."""
    done = await register_tenant(database, customers, body, limits, client_address)
    tokens = await open_session(database, jwt, done.owner.id, done.tenant.id, done.owner.role)
    return TenantRegistrationPublic(
        tenant=TenantPublic.of(done.tenant),
        owner=UserPublic.of(done.owner),
        api_key=ApiKeyCreatedPublic.created(done.api_key, done.api_key_plaintext),
        access_token=AccessTokenPublic.of(tokens.access, tokens.refresh_token, tokens.refresh_expires_at),
    )
