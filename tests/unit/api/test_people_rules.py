"""The rules among a tenant's users, refresh-token verdicts and invitation states (pure)."""

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from api.sessions.rules import RefreshVerdict, refresh_verdict
from api.users.invitations import invitation_problem
from api.users.rules import (
    OwnershipError, grant_refusal, has_one_owner, invitation_refusal, removal_refusal, transfer_ownership,
    transfer_refusal,
)
from warehouse.postgres.invitations import InvitationRecord

ME, YOU, THEM = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
NOW = datetime(2026, 12, 6, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(("actor", "target", "new", "refused"), [
    ("admin", "member", "manager", False),
    ("admin", "viewer", "member", False),
    ("admin", "member", "admin", True),  # grants only below its own role
    ("admin", "admin", "member", True),  # manages only below its own role
    ("admin", "owner", "admin", True),
    ("owner", "admin", "manager", False),
    ("owner", "manager", "admin", False),
    ("owner", "member", "owner", True),  # only a transfer makes an owner
], ids=lambda v: str(v))
def test_grant_refusal(actor, target, new, refused):
    assert (grant_refusal(actor, ME, YOU, target, new) is not None) is refused


def test_nobody_changes_their_own_role():
    assert grant_refusal("owner", ME, ME, "owner", "admin")
    assert grant_refusal("admin", ME, ME, "admin", "viewer")


@pytest.mark.parametrize(("actor", "target", "refused"), [
    ("admin", "member", False), ("admin", "admin", True), ("admin", "owner", True),
    ("owner", "admin", False), ("owner", "viewer", False),
], ids=lambda v: str(v))
def test_removal_refusal(actor, target, refused):
    assert (removal_refusal(actor, ME, YOU, target) is not None) is refused


def test_nobody_removes_themselves_not_even_the_owner():
    assert removal_refusal("owner", ME, ME, "owner")


@pytest.mark.parametrize(("actor", "role", "refused"), [
    ("admin", "manager", False), ("admin", "viewer", False), ("admin", "admin", True), ("admin", "owner", True),
    ("owner", "admin", False), ("owner", "owner", True),
], ids=lambda v: str(v))
def test_invitation_refusal(actor, role, refused):
    assert (invitation_refusal(actor, role) is not None) is refused


def test_transfer_keeps_exactly_one_owner():
    after = transfer_ownership({ME: "owner", YOU: "member", THEM: "admin"}, ME, YOU)
    assert after == {ME: "admin", YOU: "owner", THEM: "admin"}
    assert has_one_owner(after)


@pytest.mark.parametrize("roles, source, target", [
    ({ME: "admin", YOU: "member"}, ME, YOU),  # nobody owns
    ({ME: "owner", YOU: "owner"}, ME, YOU),  # two owners: never a valid start
    ({ME: "owner"}, ME, YOU),  # not a user of the tenant
    ({ME: "owner", YOU: "member"}, ME, ME),
], ids=["no-owner", "two-owners", "stranger", "self"])
def test_transfer_refuses_anything_but_one_owner_to_another_user(roles, source, target):
    with pytest.raises(OwnershipError):
        transfer_ownership(roles, source, target)


def test_transfer_refusal():
    assert transfer_refusal("admin", ME, YOU)
    assert transfer_refusal("owner", ME, ME)
    assert transfer_refusal("owner", ME, YOU) is None


LATER, EARLIER = NOW + timedelta(days=1), NOW - timedelta(seconds=1)


@pytest.mark.parametrize(("found", "used", "expires", "revoked", "verdict"), [
    (False, None, None, None, RefreshVerdict.UNKNOWN),
    (True, None, LATER, None, RefreshVerdict.ROTATE),
    (True, EARLIER, LATER, None, RefreshVerdict.REUSED),
    (True, EARLIER, EARLIER, None, RefreshVerdict.REUSED),  # a used copy is a stolen copy, expired or not
    (True, None, EARLIER, None, RefreshVerdict.EXPIRED),
    (True, None, NOW, None, RefreshVerdict.EXPIRED),
    (True, None, LATER, EARLIER, RefreshVerdict.REVOKED),
    (True, EARLIER, LATER, EARLIER, RefreshVerdict.REVOKED),  # already ended: nothing more to revoke
], ids=["unknown", "fresh", "reused", "reused-expired", "expired", "expires-now", "revoked", "revoked-used"])
def test_refresh_verdict(found, used, expires, revoked, verdict):
    assert refresh_verdict(found, used, expires, revoked, NOW) is verdict


def _invitation(**changes) -> InvitationRecord:
    values = dict(id=uuid.uuid4(), tenant_id=uuid.uuid4(), email="a@example.com", role="member", invited_by=ME,
                  created_at=NOW - timedelta(hours=1), expires_at=LATER, accepted_at=None, revoked_at=None)
    return InvitationRecord(**{**values, **changes})


@pytest.mark.parametrize(("invitation", "problem"), [
    (None, "unknown"),
    (_invitation(), None),
    (_invitation(accepted_at=EARLIER), "already accepted"),
    (_invitation(revoked_at=EARLIER), "withdrawn"),
    (_invitation(expires_at=NOW), "expired"),
], ids=["unknown", "pending", "accepted", "withdrawn", "expired"])
def test_invitation_problem(invitation, problem):
    found = invitation_problem(invitation, NOW)
    assert found is None if problem is None else problem in found
