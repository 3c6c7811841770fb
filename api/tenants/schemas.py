from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from warehouse.postgres.tenants import TenantRecord, UserRecord

from ..api_keys.schemas import ApiKeyCreatedPublic
from ..fields import Email, Name, TenantSlug
from ..sessions.schemas import AccessTokenPublic

__all__ = ["TenantCreate", "TenantPublic", "UserPublic", "TenantRegistrationPublic"]


class TenantCreate(BaseModel):
    slug: TenantSlug = Field(description="Lowercase letters, digits and single hyphens; starts with a letter",
                             examples=["acme"])
    name: Name = Field(examples=["Acme Inc."])
    owner_email: Email = Field(examples=["owner@acme.example"])
    owner_password: str = Field(min_length=8, max_length=1024)


class TenantPublic(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    status: str
    stripe_customer_id: str | None

    @classmethod
    def of(cls, record: TenantRecord) -> TenantPublic:
        return cls(id=record.id, slug=record.slug, name=record.name, status=record.status,
                   stripe_customer_id=record.stripe_customer_id)


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    role: str

    @classmethod
    def of(cls, record: UserRecord) -> UserPublic:
        return cls(id=record.id, email=record.email, role=record.role)


class TenantRegistrationPublic(BaseModel):
    tenant: TenantPublic
    owner: UserPublic
    api_key: ApiKeyCreatedPublic = Field(description="The tenant's first ingest key; its plaintext is shown only here")
    access_token: AccessTokenPublic
