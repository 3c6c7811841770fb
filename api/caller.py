"""Who is calling, as PostgreSQL knows them at this request (built by api/deps.py `get_caller`).

Framework-free, so services take it without importing the web framework.
"""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.postgres.audit import Actor
from warehouse.postgres.tenants import TenantRecord

from .auth import Principal

__all__ = ["Caller", "caller_actor"]


@dataclass(frozen=True)
class Caller:
    principal: Principal  # with the stored role, not the token's
    email: str
    tenant: TenantRecord


def caller_actor(caller: Caller) -> Actor:
    """The caller as the audit log names them."""
    return Actor("user", caller.principal.user_id, caller.email)
