from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from warehouse.postgres.invitations import InvitationRecord
from warehouse.postgres.users import MemberRecord

from ..fields import Email

__all__ = ["UserPublic", "UserPagePublic", "RoleUpdate", "InvitationCreate", "InvitationPublic",
           "InvitationAccept", "InvitationLookup", "InvitationPreviewPublic", "OwnershipTransfer", "AssignableRole"]

AssignableRole = Literal["admin", "manager", "member", "viewer"]


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    role: str = Field(description="owner | admin | manager | member | viewer")
    created_at: datetime

    @classmethod
    def of(cls, record: MemberRecord) -> UserPublic:
        return cls(id=record.id, email=record.email, role=record.role, created_at=record.created_at)


class UserPagePublic(BaseModel):
    users: list[UserPublic] = Field(description="Oldest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class RoleUpdate(BaseModel):
    role: AssignableRole = Field(description="Below your own role; the owner role moves only by a transfer")


class OwnershipTransfer(BaseModel):
    user_id: uuid.UUID = Field(description="The user who becomes the owner; you become an admin")


class InvitationCreate(BaseModel):
    email: Email
    role: AssignableRole = Field(description="Below your own role")


class InvitationPublic(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, record: InvitationRecord) -> InvitationPublic:
        return cls(id=record.id, email=record.email, role=record.role, invited_by=record.invited_by,
                   created_at=record.created_at, expires_at=record.expires_at)


class InvitationAccept(BaseModel):
    token: str = Field(min_length=1, max_length=256, description="The token of the invitation email")
    password: str = Field(min_length=1, max_length=1024, description="The new user's password")


class InvitationLookup(BaseModel):
    token: str = Field(min_length=1, max_length=256, description="The token of the invitation email")


class InvitationPreviewPublic(BaseModel):
    tenant_name: str = Field(description="The tenant the invitation joins")
    role: str = Field(description="The role the invitee will have")
    email: str = Field(description="The invited address: the new user's sign-in")
    expires_at: datetime
