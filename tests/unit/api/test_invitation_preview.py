"""Which invitations can be shown before joining, and what the refusal says (404 unknown, 410 over)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from api.domain_errors import Gone, NotFound
from api.errors import status_of
from api.users.invitation_preview import preview_refusal
from warehouse.postgres.invitations import InvitationRecord

NOW = datetime(2026, 12, 6, 12, tzinfo=timezone.utc)
PENDING = InvitationRecord(uuid.uuid4(), uuid.uuid4(), "new@acme.test", "viewer", None, NOW - timedelta(hours=1),
                           NOW + timedelta(hours=71), None, None)


@pytest.mark.parametrize(("invitation", "kind", "code"), [
    (None, NotFound, "invitation_not_found"),
    (replace(PENDING, accepted_at=NOW), Gone, "invitation_accepted"),
    (replace(PENDING, revoked_at=NOW), Gone, "invitation_withdrawn"),
    (replace(PENDING, expires_at=NOW), Gone, "invitation_expired"),
    (replace(PENDING, accepted_at=NOW, expires_at=NOW - timedelta(days=1)), Gone, "invitation_accepted"),
], ids=["unknown", "accepted", "withdrawn", "expired-now", "accepted-then-expired"])
def test_refusals(invitation, kind, code):
    refusal = preview_refusal(invitation, NOW)
    assert type(refusal) is kind and refusal.code == code
    assert status_of(refusal) == (404 if kind is NotFound else 410)
    assert "acme" not in refusal.message  # names nothing of the invitation or its tenant


def test_a_pending_invitation_is_shown():
    assert preview_refusal(PENDING, NOW) is None
