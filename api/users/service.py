"""A tenant's members: listed, re-roled, removed; ownership transferred.

Each change locks the rows it decides on, applies the rules of rules.py to the roles as
stored, and writes its audit entry in the same transaction. A user id of another tenant
is "not found", like an unknown one.
"""

from __future__ import annotations

import uuid

from warehouse.postgres.audit import record_audit
from warehouse.postgres.database import Database
from warehouse.postgres.tenants import UserRecord
from warehouse.postgres.users import MemberRecord, delete_user, get_user, list_users, set_user_role

from ..caller import Caller, caller_actor
from ..domain_errors import FieldProblem, Forbidden, InvalidInput, NotFound
from ..usage.cursor import InvalidCursor, page
from .rules import grant_refusal, removal_refusal, transfer_ownership, transfer_refusal

__all__ = ["members_page", "member", "change_role", "remove_user", "transfer"]


def _no_such_user() -> NotFound:
    return NotFound("no user with this id in your tenant")


def _refuse(refusal: str | None) -> None:
    if refusal:
        raise Forbidden(refusal, code="role_rule")


async def members_page(database: Database, tenant_id: uuid.UUID, limit: int,
                       cursor: str | None) -> tuple[list[MemberRecord], str | None]:
    async with database.connect() as conn:
        members = await list_users(conn, tenant_id)
    try:
        # A tenant's users are few: paged in memory, in the same order as listed.
        return page(members, lambda m: (m.created_at, str(m.id)), cursor, limit, arity=2)
    except InvalidCursor as exc:
        raise InvalidInput(str(exc), problems=[FieldProblem("cursor", str(exc), "query")]) from exc


async def member(database: Database, tenant_id: uuid.UUID, user_id: uuid.UUID) -> MemberRecord:
    async with database.connect() as conn:
        found = [m for m in await list_users(conn, tenant_id) if m.id == user_id]
    if not found:
        raise _no_such_user()
    return found[0]


async def _target(conn, tenant_id: uuid.UUID, user_id: uuid.UUID) -> UserRecord:
    target = await get_user(conn, tenant_id, user_id, for_update=True)
    if target is None:
        raise _no_such_user()
    return target


async def change_role(database: Database, caller: Caller, user_id: uuid.UUID, role: str) -> MemberRecord:
    actor = caller.principal
    async with database.begin() as conn:
        target = await _target(conn, actor.tenant_id, user_id)
        _refuse(grant_refusal(actor.role, actor.user_id, target.id, target.role, role))
        await set_user_role(conn, actor.tenant_id, target.id, role)
        await record_audit(conn, actor.tenant_id, caller_actor(caller), "user.role_changed", "user", target.id,
                           {"email": target.email, "from": target.role, "to": role})
    return await member(database, actor.tenant_id, target.id)


async def remove_user(database: Database, caller: Caller, user_id: uuid.UUID) -> None:
    """The user's sessions end with them (their next request is a 401); their API keys keep
    working for ingest and are left to the admins."""
    actor = caller.principal
    async with database.begin() as conn:
        target = await _target(conn, actor.tenant_id, user_id)
        _refuse(removal_refusal(actor.role, actor.user_id, target.id, target.role))
        await delete_user(conn, actor.tenant_id, target.id)
        await record_audit(conn, actor.tenant_id, caller_actor(caller), "user.removed", "user", target.id,
                           {"email": target.email, "role": target.role})


async def transfer(database: Database, caller: Caller, user_id: uuid.UUID) -> None:
    actor = caller.principal
    _refuse(transfer_refusal(actor.role, actor.user_id, user_id))
    async with database.begin() as conn:
        owner = await _target(conn, actor.tenant_id, actor.user_id)
        target = await _target(conn, actor.tenant_id, user_id)
        _refuse(transfer_refusal(owner.role, owner.id, target.id))  # the stored role, under the lock
        after = transfer_ownership({owner.id: owner.role, target.id: target.role}, owner.id, target.id)
        # Demote first: the database allows one owner per tenant at any moment, and none
        # only until the commit (migration shared_1000).
        await set_user_role(conn, actor.tenant_id, owner.id, after[owner.id])
        await set_user_role(conn, actor.tenant_id, target.id, after[target.id])
        await record_audit(conn, actor.tenant_id, caller_actor(caller), "ownership.transferred", "user", target.id,
                           {"from_user_id": str(owner.id), "from_email": owner.email, "to_email": target.email,
                            "to_previous_role": target.role})
