"""What an invitation offers, looked up anonymously by its token before the invitee joins:
the tenant's name, the role, the invited email and the expiry.

The token is the credential (as for accepting), so the answer tells its holder only what
the invitation email already told them. A token that cannot be used gets 404 (unknown) or
410 (accepted, withdrawn, expired) with the reason and nothing of the invitation. Each
look-up counts against its client address (settings api.invitation_previews_per_address_per_minute),
so a flood of guesses is cut off before it reaches the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from meterline.settings import ApiSettings
from warehouse.postgres.abuse_limits import count_hits
from warehouse.postgres.database import Database
from warehouse.postgres.invitations import InvitationRecord, claim_invitation
from warehouse.postgres.tenants import get_tenant

from ..abuse_policy import verdict
from ..auth import hash_opaque_token, utcnow
from ..domain_errors import DomainError, Gone, NotFound, RateLimited

__all__ = ["PREVIEW_WINDOW_S", "InvitationPreview", "preview_refusal", "preview_invitation"]

PREVIEW_WINDOW_S = 60


@dataclass(frozen=True)
class InvitationPreview:
    tenant_name: str
    role: str
    email: str
    expires_at: datetime


def preview_refusal(invitation: InvitationRecord | None, now: datetime) -> DomainError | None:
    """Why this invitation cannot be shown (None: it can). Pure; the error names no tenant."""
    if invitation is None:
        return NotFound("unknown invitation token", code="invitation_not_found")
    if invitation.accepted_at is not None:
        return Gone("this invitation was already accepted", code="invitation_accepted")
    if invitation.revoked_at is not None:
        return Gone("this invitation was withdrawn", code="invitation_withdrawn")
    if invitation.expires_at <= now:
        return Gone("this invitation has expired", code="invitation_expired")
    return None


async def _admit(database: Database, limits: ApiSettings, client_address: str) -> None:
    key = f"invitation-preview:address:{client_address}"
    async with database.autocommit() as conn:  # one statement, atomic on its own
        counts = await count_hits(conn, [key], PREVIEW_WINDOW_S)
    decision = verdict((c.hits, limits.invitation_previews_per_address_per_minute, c.seconds_left) for c in counts)
    if not decision.allowed:
        raise RateLimited("too many invitation look-ups; try again later", retry_after_s=decision.retry_after_s,
                          code="invitation_preview_limited")


async def preview_invitation(database: Database, limits: ApiSettings, token: str,
                             client_address: str) -> InvitationPreview:
    await _admit(database, limits, client_address)
    async with database.connect() as conn:
        invitation = await claim_invitation(conn, hash_opaque_token(token), lock=False)
        refusal = preview_refusal(invitation, utcnow())
        if refusal is not None or invitation is None:
            raise refusal or NotFound("unknown invitation token", code="invitation_not_found")
        tenant = await get_tenant(conn, invitation.tenant_id)
    if tenant is None:  # deleted since: nothing to join
        raise Gone("the tenant of this invitation no longer exists", code="invitation_tenant_gone")
    return InvitationPreview(tenant.name, invitation.role, invitation.email, invitation.expires_at)
