"""A tenant's users: list, invite, change role, remove, transfer ownership; and accepting an
invitation (public: the invitation's token is the credential).

Who may do what is the role table's (api/permissions.py) and, among users, rules.py's.
Another tenant's user or invitation id is "not found" (404), never its data.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from ..deps import ClientAddressDep, CurrentCaller, DatabaseDep, JwtDep, LimitsDep
from ..errors import error_responses
from ..sessions.schemas import AccessTokenPublic
from . import invitation_preview, invitations, service
from .schemas import (
    InvitationAccept, InvitationCreate, InvitationLookup, InvitationPreviewPublic, InvitationPublic, OwnershipTransfer,
    RoleUpdate, UserPagePublic, UserPublic,
)

router = APIRouter(prefix="/v1/users", tags=["users"], responses=error_responses(401, 403))
invitation_router = APIRouter(prefix="/v1/invitations", tags=["users"])

_NO_USER = (404, "No user with this id in your tenant")


@router.get("", response_model=UserPagePublic)
async def list_users(caller: CurrentCaller, database: DatabaseDep,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     cursor: Annotated[str | None, Query(max_length=1024)] = None) -> UserPagePublic:
    members, next_cursor = await service.members_page(database, caller.principal.tenant_id, limit, cursor)
    return UserPagePublic(users=[UserPublic.of(m) for m in members], next_cursor=next_cursor)


@router.get("/me", response_model=UserPublic)
async def me(caller: CurrentCaller, database: DatabaseDep) -> UserPublic:
    """You, with your current role (what every request is checked against)."""
    return UserPublic.of(await service.member(database, caller.principal.tenant_id, caller.principal.user_id))


@router.get("/invitations", response_model=list[InvitationPublic])
async def list_invitations(caller: CurrentCaller, database: DatabaseDep) -> list[InvitationPublic]:
    """Pending, unexpired invitations, newest first."""
    return [InvitationPublic.of(i) for i in await invitations.pending_invitations(database, caller.principal.tenant_id)]


@router.post("/invitations", response_model=InvitationPublic, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400, (409, "The email already has an account")))
async def invite(body: InvitationCreate, caller: CurrentCaller, limits: LimitsDep,
                 database: DatabaseDep) -> InvitationPublic:
    """Emails a single-use token that expires (the notification outbox shows the email when no
    SMTP is set). A new invitation to the same address replaces a pending one."""
    return InvitationPublic.of(await invitations.invite(database, limits, caller, str(body.email), body.role))


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=error_responses((404, "No pending invitation with this id in your tenant")))
async def withdraw_invitation(invitation_id: uuid.UUID, caller: CurrentCaller, database: DatabaseDep) -> Response:
    await invitations.cancel_invitation(database, caller, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{user_id}/role", response_model=UserPublic, responses=error_responses(400, _NO_USER))
async def change_role(user_id: uuid.UUID, body: RoleUpdate, caller: CurrentCaller,
                      database: DatabaseDep) -> UserPublic:
    """Takes effect at the user's next request."""
    return UserPublic.of(await service.change_role(database, caller, user_id, body.role))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=error_responses(_NO_USER))
async def remove_user(user_id: uuid.UUID, caller: CurrentCaller, database: DatabaseDep) -> Response:
    """The user's next request is refused (401); their API keys keep working, managed by admins."""
    await service.remove_user(database, caller, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/transfer-ownership", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
             responses=error_responses(400, _NO_USER))
async def transfer_ownership(body: OwnershipTransfer, caller: CurrentCaller, database: DatabaseDep) -> Response:
    """The user becomes the owner and you an admin, at once."""
    await service.transfer(database, caller, body.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@invitation_router.post("/accept", response_model=AccessTokenPublic, status_code=status.HTTP_201_CREATED,
                        responses=error_responses(400, (409, "The email already has an account")))
async def accept_invitation(body: InvitationAccept, jwt: JwtDep, limits: LimitsDep,
                            database: DatabaseDep) -> AccessTokenPublic:
    """Creates the invited user with this password and signs them in. The token works once."""
    tokens = await invitations.accept(database, jwt, limits, body.token, body.password)
    return AccessTokenPublic.of(tokens.access, tokens.refresh_token, tokens.refresh_expires_at)


@invitation_router.post("/preview", response_model=InvitationPreviewPublic,
                        responses=error_responses(400, (404, "Unknown invitation token"),
                                                  (410, "The invitation was accepted, withdrawn or has expired"),
                                                  429))
async def preview_invitation(body: InvitationLookup, limits: LimitsDep, database: DatabaseDep,
                             client_address: ClientAddressDep) -> InvitationPreviewPublic:
    """What accepting this invitation would do: join which tenant, as which role, signing in with which
    email. A POST, so the token stays out of URLs and access logs."""
    found = await invitation_preview.preview_invitation(database, limits, body.token, client_address)
    return InvitationPreviewPublic(tenant_name=found.tenant_name, role=found.role, email=found.email,
                                   expires_at=found.expires_at)
