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

    @classmethod
    def of(cls, token: AccessToken) -> AccessTokenPublic:
        return cls(access_token=token.token, expires_in=token.expires_in, expires_at=token.expires_at)
