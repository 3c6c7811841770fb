from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..auth import AccessToken
from ..fields import Email

__all__ = ["LoginCreate", "AccessTokenPublic", "RefreshCreate", "PasswordUpdate"]


class LoginCreate(BaseModel):
    email: Email
    password: str = Field(min_length=1, max_length=1024)


class RefreshCreate(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class PasswordUpdate(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class AccessTokenPublic(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
    expires_at: datetime
    refresh_token: str | None = Field(
        default=None, description="Single use: POST /v1/auth/refresh trades it for a new pair. Presenting a used "
                                  "one again ends the whole session")
    refresh_expires_at: datetime | None = None
    # The tenant's standing (docs/operators.md): a suspended or deleting tenant's people still
    # sign in, read their data and download its export; the answer tells them why ingest refuses.
    tenant_status: Literal["active", "suspended", "deleting"] = "active"
    tenant_status_reason: str | None = None

    @classmethod
    def of(cls, token: AccessToken, refresh_token: str | None = None, refresh_expires_at: datetime | None = None,
           tenant_status: str = "active", tenant_status_reason: str | None = None) -> AccessTokenPublic:
        return cls(access_token=token.token, expires_in=token.expires_in, expires_at=token.expires_at,
                   refresh_token=refresh_token, refresh_expires_at=refresh_expires_at,
                   tenant_status=tenant_status, tenant_status_reason=tenant_status_reason)
