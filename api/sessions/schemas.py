from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..auth import AccessToken
from ..fields import Email

__all__ = ["LoginCreate", "AccessTokenPublic"]


class LoginCreate(BaseModel):
    email: Email
    password: str = Field(min_length=1, max_length=1024)


class AccessTokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
    expires_at: datetime
    # The tenant's standing (docs/operators.md): a suspended or deleting tenant's people still
    # sign in, read their data and download its export; the answer tells them why ingest refuses.
    tenant_status: Literal["active", "suspended", "deleting"] = "active"
    tenant_status_reason: str | None = None

    @classmethod
    def of(cls, token: AccessToken, tenant_status: str = "active",
           tenant_status_reason: str | None = None) -> AccessTokenPublic:
        return cls(access_token=token.token, expires_in=token.expires_in, expires_at=token.expires_at,
                   tenant_status=tenant_status, tenant_status_reason=tenant_status_reason)
