"""Invitations: an admin invites an email address with a role; the invitee accepts with the
token the email carries, choosing a password, and is signed in.

The token is single use and expires (settings api.invitation_hours); only its SHA-256
is stored. The email goes to the notification outbox in the invitation's transaction
(billing_jobs.notify_service delivers it when SMTP is set; otherwise the outbox shows it).
Emails are unique across the platform, so an address that already has an account cannot
be invited (409).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from meterline.settings import ApiSettings, JwtSettings
from warehouse.postgres.audit import Actor, record_audit
from warehouse.postgres.billing_notify import enqueue_email
from warehouse.postgres.database import ConstraintViolation, Database
from warehouse.postgres.invitations import (
    InvitationRecord, claim_invitation, create_invitation, list_invitations, mark_accepted, revoke_invitation,
)
from warehouse.postgres.tenants import find_user_by_email
from warehouse.postgres.users import insert_user

from ..abuse_policy import password_problem
from ..auth import hash_opaque_token, hash_password, new_opaque_token, utcnow
from ..caller import Caller, caller_actor
from ..domain_errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from ..sessions.tokens import SessionTokens, start_session
from .rules import invitation_refusal

__all__ = ["INVITATION_PREFIX", "invite", "pending_invitations", "cancel_invitation", "accept", "invitation_problem"]

INVITATION_PREFIX = "mli_"


def _email_taken() -> Conflict:
    return Conflict("a user with this email already exists", code="email_taken",
                    problems=[FieldProblem("email", "already has an account")])


def invitation_problem(invitation: InvitationRecord | None, now: datetime) -> str | None:
    """Why this invitation cannot be accepted now (None: it can). Pure."""
    if invitation is None:
        return "unknown invitation token"
    if invitation.accepted_at is not None:
        return "this invitation was already accepted"
    if invitation.revoked_at is not None:
        return "this invitation was withdrawn"
    if invitation.expires_at <= now:
        return "this invitation has expired"
    return None


async def invite(database: Database, limits: ApiSettings, caller: Caller, email: str, role: str) -> InvitationRecord:
    actor = caller.principal
    refusal = invitation_refusal(actor.role, role)
    if refusal:
        raise Forbidden(refusal, code="role_rule")
    now = utcnow()
    token, digest = new_opaque_token(INVITATION_PREFIX)
    async with database.begin() as conn:
        if await find_user_by_email(conn, email) is not None:
            raise _email_taken()
        invitation = await create_invitation(conn, actor.tenant_id, email, role, digest, actor.user_id,
                                             now + timedelta(hours=limits.invitation_hours))
        await enqueue_email(conn, actor.tenant_id, f"invitation:{invitation.id}", invitation.email,
                            f"{caller.email} invites you to {caller.tenant.name} on Meterline", {
                                "type": "invitation", "id": str(invitation.id), "tenant": caller.tenant.name,
                                "role": role, "invited_by": caller.email, "token": token,
                                "accept": "POST /v1/invitations/accept with this token and your new password",
                                "expires_at": invitation.expires_at.isoformat()})
        await record_audit(conn, actor.tenant_id, caller_actor(caller), "user.invited", "invitation", invitation.id,
                           {"email": invitation.email, "role": role})
    return invitation


async def pending_invitations(database: Database, tenant_id: uuid.UUID) -> list[InvitationRecord]:
    async with database.connect() as conn:
        return await list_invitations(conn, tenant_id, utcnow())


async def cancel_invitation(database: Database, caller: Caller, invitation_id: uuid.UUID) -> None:
    tenant_id = caller.principal.tenant_id
    async with database.begin() as conn:
        withdrawn = await revoke_invitation(conn, tenant_id, invitation_id)
        if withdrawn:
            await record_audit(conn, tenant_id, caller_actor(caller), "invitation.withdrawn", "invitation",
                               invitation_id)
    if not withdrawn:
        raise NotFound("no pending invitation with this id in your tenant")


def _refuse_token(problem: str) -> InvalidInput:
    return InvalidInput(problem, code="invalid_invitation", problems=[FieldProblem("token", problem)])


async def accept(database: Database, jwt: JwtSettings, limits: ApiSettings, token: str,
                 password: str) -> SessionTokens:
    digest = hash_opaque_token(token)
    async with database.connect() as conn:
        seen = await claim_invitation(conn, digest, lock=False)  # a first look, to fail fast
    problem = invitation_problem(seen, utcnow())
    if problem or seen is None:
        raise _refuse_token(problem or "unknown invitation token")
    weak = password_problem(password, [seen.email], limits.password_min_length, limits.password_min_score)
    if weak:
        raise InvalidInput(f"password {weak}", code="weak_password", problems=[FieldProblem("password", weak)])
    password_hash = await asyncio.to_thread(hash_password, password)  # slow: outside the transaction
    try:
        async with database.begin() as conn:
            now = utcnow()
            invitation = await claim_invitation(conn, digest)  # locked: a concurrent accept waits, then fails
            problem = invitation_problem(invitation, now)
            if problem or invitation is None:
                raise _refuse_token(problem or "unknown invitation token")
            user = await insert_user(conn, invitation.tenant_id, invitation.email, password_hash, invitation.role)
            await mark_accepted(conn, invitation.id, now)
            await record_audit(conn, invitation.tenant_id, Actor("user", user.id, user.email), "user.joined", "user",
                               user.id, {"role": user.role, "invitation_id": str(invitation.id)})
            return await start_session(conn, jwt, user.id, user.tenant_id, user.role, now)
    except ConstraintViolation as exc:
        if exc.constraint.startswith("app_user_email"):
            raise _email_taken() from exc
        raise
