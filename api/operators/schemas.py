from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from warehouse.postgres.operators import OperatorRecord
from warehouse.postgres.tenant_lifecycle import TenantLifecycle
from warehouse.postgres.tenant_purge import RetainedInvoice

from ..auth import AccessToken
from ..fields import Email, Text
from ..operator_roles import ROLE_PERMISSIONS, OperatorRole, Permission

__all__ = ["OperatorCreate", "OperatorPublic", "OperatorLogin", "OperatorTokenPublic", "TenantStandingPublic",
           "TenantPagePublic", "SuspensionCreate", "RetainedInvoicePublic", "RetainedInvoicePagePublic"]

TenantStatus = Literal["active", "suspended", "deleting"]


class OperatorCreate(BaseModel):
    email: Email
    password: str = Field(min_length=1, max_length=1024)
    role: OperatorRole


class OperatorPublic(BaseModel):
    id: uuid.UUID
    email: str
    role: OperatorRole
    permissions: list[Permission] = Field(description="What the role may do (docs/operators.md)")
    created_at: datetime

    @classmethod
    def of(cls, record: OperatorRecord) -> OperatorPublic:
        return cls(id=record.id, email=record.email, role=record.role,  # type: ignore[arg-type]
                   permissions=sorted(ROLE_PERMISSIONS[record.role]),  # type: ignore[index]
                   created_at=record.created_at)


class OperatorLogin(BaseModel):
    email: Email
    password: str = Field(min_length=1, max_length=1024)


class OperatorTokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
    expires_at: datetime
    role: OperatorRole

    @classmethod
    def of(cls, token: AccessToken, role: OperatorRole) -> OperatorTokenPublic:
        return cls(access_token=token.token, expires_in=token.expires_in, expires_at=token.expires_at, role=role)


class TenantStandingPublic(BaseModel):
    """A tenant as operators (and, for its own, its people) see its standing."""

    id: uuid.UUID
    slug: str
    name: str
    status: TenantStatus
    status_reason: str | None = Field(description="Why it is suspended or being deleted")
    suspended_by: Literal["dunning", "operator"] | None
    status_changed_at: datetime | None
    created_at: datetime
    plan_slug: str | None = Field(None, description="The plan of its current subscription, if any")
    subscription_status: str | None = None
    export_taken_at: datetime | None
    deletion_requested_at: datetime | None
    purge_after: datetime | None = Field(description="When the deletion's grace period ends")

    @classmethod
    def of(cls, found: TenantLifecycle, plan_slug: str | None = None,
           subscription_status: str | None = None) -> TenantStandingPublic:
        state = found.state
        return cls(id=found.id, slug=found.slug, name=found.name, status=state.status,
                   status_reason=state.status_reason, suspended_by=state.suspended_by,
                   status_changed_at=found.status_changed_at, created_at=found.created_at, plan_slug=plan_slug,
                   subscription_status=subscription_status, export_taken_at=state.export_taken_at,
                   deletion_requested_at=state.deletion_requested_at, purge_after=state.purge_after)


class TenantPagePublic(BaseModel):
    tenants: list[TenantStandingPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class SuspensionCreate(BaseModel):
    reason: Text = Field(description="Shown to the tenant at login and by ingest's refusal",
                         examples=["abusive traffic from key mlk_AbC..."])


class RetainedInvoicePublic(BaseModel):
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    number: str
    period_start: date
    period_end: date
    plan_slug: str
    currency: str
    subtotal_minor: int
    total_minor: int
    status: str
    issued_at: datetime
    retain_until: date
    lines: list[dict[str, Any]]
    payments: list[dict[str, Any]]

    @classmethod
    def of(cls, record: RetainedInvoice) -> RetainedInvoicePublic:
        return cls(**record.__dict__)


class RetainedInvoicePagePublic(BaseModel):
    invoices: list[RetainedInvoicePublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
