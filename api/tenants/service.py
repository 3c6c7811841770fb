"""Registering a tenant: the one multi-step action of the API, kept out of the router.

Everything happens in ONE database transaction, the Stripe call included: the
tenant row, its schema, its owner, its first API key and its Stripe customer id
are committed together or not at all. If Stripe is unreachable the registration
fails (503) and leaves nothing behind, so the caller can simply retry; a tenant
never exists without a customer. The price is a transaction held open for one
Stripe round trip, which registration (rare, interactive) can afford. A Stripe
customer created for a registration that then rolled back is orphaned but
harmless: it is keyed by a tenant id that never came to exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.concurrency import run_in_threadpool

from billing_jobs.errors import BillingError, RetryableError
from meterline.bootstrap import stripe_gateway
from meterline.settings import Settings
from warehouse.postgres.api_keys import ApiKeyRecord, create_api_key
from warehouse.postgres.tenants import (
    TenantRecord, UserRecord, find_user_by_email, get_tenant_by_slug, insert_tenant, set_stripe_customer,
)

from ..auth import hash_password
from ..errors import ApiError, violated_constraint
from .schemas import TenantCreate

__all__ = ["Registration", "register_tenant"]

FIRST_KEY_NAME = "default"


@dataclass(frozen=True)
class Registration:
    tenant: TenantRecord
    owner: UserRecord
    api_key: ApiKeyRecord
    api_key_plaintext: str


def _slug_taken(slug: str) -> ApiError:
    return ApiError(409, f"the tenant slug '{slug}' is already taken", code="slug_taken",
                    details=[{"field": "slug", "location": "body", "reason": "already taken"}])


def _email_taken() -> ApiError:
    return ApiError(409, "a user with this email already exists", code="email_taken",
                    details=[{"field": "owner_email", "location": "body", "reason": "already registered"}])


async def register_tenant(engine: AsyncEngine, settings: Settings, body: TenantCreate) -> Registration:
    password_hash = await run_in_threadpool(hash_password, body.owner_password)
    gateway = stripe_gateway(settings)
    try:
        async with engine.begin() as conn:
            # Checked first for a clear answer; the unique constraints below settle races.
            if await get_tenant_by_slug(conn, body.slug) is not None:
                raise _slug_taken(body.slug)
            if await find_user_by_email(conn, body.owner_email) is not None:
                raise _email_taken()
            tenant, owner = await insert_tenant(conn, slug=body.slug, name=body.name, owner_email=body.owner_email,
                                                owner_password_hash=password_hash)
            key, plaintext = await create_api_key(conn, tenant.id, FIRST_KEY_NAME)
            # The Stripe SDK is synchronous: run it in a worker thread, not on the loop.
            customer_id = await run_in_threadpool(gateway.ensure_customer, str(tenant.id), tenant.name,
                                                  owner.email, None)
            await set_stripe_customer(conn, tenant.id, customer_id)
    except IntegrityError as exc:
        constraint = violated_constraint(exc)
        if constraint.startswith("tenant_slug") or constraint.startswith("tenant_schema_name"):
            raise _slug_taken(body.slug) from exc
        if constraint.startswith("app_user_email"):
            raise _email_taken() from exc
        raise
    except RetryableError as exc:
        raise ApiError(503, "the payment provider could not be reached; nothing was created, please retry",
                       code="payment_provider_unavailable") from exc
    except BillingError as exc:
        raise ApiError(502, f"the payment provider refused the customer; nothing was created ({exc})",
                       code="payment_provider_error") from exc
    return Registration(
        tenant=TenantRecord(tenant.id, tenant.slug, tenant.name, tenant.status, tenant.schema_name, customer_id),
        owner=owner, api_key=key, api_key_plaintext=plaintext,
    )
