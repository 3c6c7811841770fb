from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from warehouse.postgres.api_keys import ApiKeyRecord

from ..fields import Name

__all__ = ["ApiKeyCreate", "ApiKeyPublic", "ApiKeyCreatedPublic"]


class ApiKeyCreate(BaseModel):
    name: Name = "default"


class ApiKeyPublic(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it; the key itself is never stored")
    created_at: datetime
    revoked_at: datetime | None
    owner_user_id: uuid.UUID | None = Field(description="The user it belongs to; null once that user was removed")

    @classmethod
    def of(cls, record: ApiKeyRecord) -> ApiKeyPublic:
        return cls(id=record.id, name=record.name, prefix=record.prefix, created_at=record.created_at,
                   revoked_at=record.revoked_at, owner_user_id=record.owner_user_id)


class ApiKeyCreatedPublic(ApiKeyPublic):
    key: str = Field(description="The plaintext key. Shown this once: store it now, it cannot be retrieved again")

    @classmethod
    def created(cls, record: ApiKeyRecord, plaintext: str) -> ApiKeyCreatedPublic:
        return cls(**ApiKeyPublic.of(record).model_dump(), key=plaintext)
