from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from warehouse.postgres.audit import AuditRecord

__all__ = ["AuditEntryPublic", "AuditPagePublic"]


class AuditEntryPublic(BaseModel):
    id: int
    occurred_at: datetime
    actor_kind: str = Field(description="user | operator | system")
    actor_id: uuid.UUID | None
    actor_email: str | None = Field(description="As it was at the time")
    action: str = Field(description="e.g. user.invited, user.role_changed, api_key.revoked, subscription.created")
    target_kind: str
    target_id: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, record: AuditRecord) -> AuditEntryPublic:
        return cls(id=record.id, occurred_at=record.occurred_at, actor_kind=record.actor.kind,
                   actor_id=record.actor.id, actor_email=record.actor.email, action=record.action,
                   target_kind=record.target_kind, target_id=record.target_id, details=record.details)


class AuditPagePublic(BaseModel):
    entries: list[AuditEntryPublic] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for older entries; null on the last page")
