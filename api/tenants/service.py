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

import asyncio
from dataclasses import dataclass
from typing import Protocol

from billing_jobs.errors import BillingError, RetryableError
from warehouse.postgres.api_keys import ApiKeyRecord, create_api_key
from warehouse.postgres.database import ConstraintViolation, Database
from warehouse.postgres.tenants import (
    TenantRecord, UserRecord, find_user_by_email, get_tenant_by_slug, insert_tenant, set_stripe_customer,
)

from meterline.settings import ApiSettings
from warehouse.postgres.abuse_limits import count_hits

from ..abuse_policy import password_problem, verdict
from ..auth import hash_password
from ..domain_errors import Conflict, FieldProblem, InvalidInput, ProviderRefused, RateLimited, Unavailable
from .schemas import TenantCreate

__all__ = ["CustomerRegistry", "Registration", "register_tenant", "check_password", "admit_registration"]

FIRST_KEY_NAME = "default"
REGISTRATION_WINDOW_S = 3600


class CustomerRegistry(Protocol):
    """The payment provider's side of a registration (billing_jobs.ports.StripeGateway has it)."""

    def ensure_customer(self, tenant_id: str, name: str, email: str, existing_customer_id: str | None) -> str: ...


@dataclass(frozen=True)
class Registration:
    tenant: TenantRecord
    owner: UserRecord
    api_key: ApiKeyRecord
    api_key_plaintext: str


def _slug_taken(slug: str) -> Conflict:
    return Conflict(f"the tenant slug '{slug}' is already taken", code="slug_taken",
                    problems=[FieldProblem("slug", "already taken")])


def _email_taken() -> Conflict:
    return Conflict("a user with this email already exists", code="email_taken",
                    problems=[FieldProblem("owner_email", "already registered")])


def check_password(limits: ApiSettings, body: TenantCreate) -> None:
    problem = password_problem(body.owner_password, [body.slug, body.name, body.owner_email],
                               limits.password_min_length, limits.password_min_score)
    if problem:
        raise InvalidInput(f"owner_password {problem}", code="weak_password",
                           problems=[FieldProblem("owner_password", problem)])


async def admit_registration(database: Database, limits: ApiSettings, client_address: str) -> None:
    """Count this attempt per client address and across all of them; 429 past either quota.
    Counted before anything is created, so a refused flood costs one upsert per request."""
    quotas = {f"register:address:{client_address}": limits.registrations_per_address_per_hour,
              "register:all": limits.registrations_per_hour}
    async with database.autocommit() as conn:  # one statement, atomic on its own
        counts = await count_hits(conn, list(quotas), REGISTRATION_WINDOW_S)
    decision = verdict((c.hits, quotas[c.key], c.seconds_left) for c in counts)
    if not decision.allowed:
        raise RateLimited("too many registrations; try again later", retry_after_s=decision.retry_after_s,
                          code="registration_limited")


async def register_tenant(database: Database, customers: CustomerRegistry, body: TenantCreate,
                          limits: ApiSettings, client_address: str) -> Registration:
    check_password(limits, body)
    await admit_registration(database, limits, client_address)
    password_hash = await asyncio.to_thread(hash_password, body.owner_password)
    try:
        async with database.begin() as conn:
            # Checked first for a clear answer; the unique constraints below settle races.
            if await get_tenant_by_slug(conn, body.slug) is not None:
                raise _slug_taken(body.slug)
            if await find_user_by_email(conn, body.owner_email) is not None:
                raise _email_taken()
            tenant, owner = await insert_tenant(conn, slug=body.slug, name=body.name, owner_email=body.owner_email,
                                                owner_password_hash=password_hash)
            key, plaintext = await create_api_key(conn, tenant.id, FIRST_KEY_NAME, owner.id)
            # The Stripe SDK is synchronous: run it in a worker thread, not on the loop.
            customer_id = await asyncio.to_thread(customers.ensure_customer, str(tenant.id), tenant.name,
                                                  owner.email, None)
            await set_stripe_customer(conn, tenant.id, customer_id)
    except ConstraintViolation as exc:
        constraint = exc.constraint
        if constraint.startswith("tenant_slug") or constraint.startswith("tenant_schema_name"):
            raise _slug_taken(body.slug) from exc
        if constraint.startswith("app_user_email"):
            raise _email_taken() from exc
        raise
    except RetryableError as exc:
        raise Unavailable("the payment provider could not be reached; nothing was created, please retry",
                          code="payment_provider_unavailable") from exc
    except BillingError as exc:
        raise ProviderRefused(f"the payment provider refused the customer; nothing was created ({exc})",
                              code="payment_provider_error") from exc
    return Registration(
        tenant=TenantRecord(tenant.id, tenant.slug, tenant.name, tenant.status, tenant.schema_name, customer_id),
        owner=owner, api_key=key, api_key_plaintext=plaintext,
    )
