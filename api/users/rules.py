"""Who may do what to whom among a tenant's users (pure: roles in, a refusal or None out).

- A user manages only users ranked below their own role (an admin: managers, members,
  viewers; the owner: admins too), and grants only roles below their own.
- Nobody becomes or stops being the owner except by a transfer, which the owner alone
  makes, to another user of the tenant, who becomes the owner while the old one becomes
  an admin. So a tenant has exactly one owner at every moment; `transfer_ownership` keeps
  it so, and the database enforces it as well (migration shared_1000).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from ..auth import ROLES, role_at_least

__all__ = ["grant_refusal", "removal_refusal", "invitation_refusal", "transfer_refusal", "transfer_ownership",
           "has_one_owner", "OwnershipError"]


class OwnershipError(ValueError):
    pass


def _outranks(actor_role: str, role: str) -> bool:
    return role_at_least(actor_role, role) and actor_role != role


def invitation_refusal(actor_role: str, role: str) -> str | None:
    if role == "owner":
        return "nobody is invited as the owner: the owner transfers ownership to a user"
    if not _outranks(actor_role, role):
        return f"a {actor_role} invites only roles below their own"
    return None


def grant_refusal(actor_role: str, actor_id: uuid.UUID, target_id: uuid.UUID, target_role: str,
                  new_role: str) -> str | None:
    if actor_id == target_id:
        return "nobody changes their own role"
    if "owner" in (target_role, new_role):
        return "the owner role changes hands only by a transfer of ownership"
    if not _outranks(actor_role, target_role):
        return f"a {actor_role} manages only users below their own role"
    if not _outranks(actor_role, new_role):
        return f"a {actor_role} grants only roles below their own"
    return None


def removal_refusal(actor_role: str, actor_id: uuid.UUID, target_id: uuid.UUID, target_role: str) -> str | None:
    if actor_id == target_id:
        return "nobody removes themselves"
    if target_role == "owner":
        return "the owner cannot be removed; transfer ownership first"
    if not _outranks(actor_role, target_role):
        return f"a {actor_role} removes only users below their own role"
    return None


def transfer_refusal(actor_role: str, actor_id: uuid.UUID, target_id: uuid.UUID) -> str | None:
    if actor_role != "owner":
        return "only the owner transfers ownership"
    if actor_id == target_id:
        return "the owner already owns the tenant"
    return None


def has_one_owner(roles: Mapping[uuid.UUID, str]) -> bool:
    return sum(1 for role in roles.values() if role == "owner") == 1


def transfer_ownership(roles: Mapping[uuid.UUID, str], from_id: uuid.UUID, to_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """The tenant's roles after the transfer: `to_id` the owner, `from_id` an admin."""
    if not has_one_owner(roles) or roles.get(from_id) != "owner" or to_id not in roles or to_id == from_id:
        raise OwnershipError("a transfer goes from the one owner to another user of the tenant")
    after = {**roles, from_id: ROLES[1], to_id: "owner"}
    assert has_one_owner(after)
    return after
