"""Operator accounts in the shared schema: the platform's finance and SRE people, apart from every tenant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .lifecycle_tables import operator_account

__all__ = ["OperatorRecord", "insert_operator", "find_operator_by_email", "get_operator", "list_operators",
           "change_operator"]


@dataclass(frozen=True)
class OperatorRecord:
    id: uuid.UUID
    email: str
    password_hash: str
    role: str
    created_at: datetime
    disabled_at: datetime | None


def _record(row) -> OperatorRecord:
    return OperatorRecord(row.id, row.email, row.password_hash, row.role, row.created_at, row.disabled_at)


async def insert_operator(conn: AsyncConnection, *, email: str, password_hash: str, role: str) -> OperatorRecord:
    """Raises the driver's IntegrityError (ConstraintViolation through Database.begin) if the email is taken."""
    row = (await conn.execute(
        insert(operator_account).values(email=email.lower(), password_hash=password_hash, role=role)
        .returning(*operator_account.c)
    )).one()
    return _record(row)


async def find_operator_by_email(conn: AsyncConnection, email: str) -> OperatorRecord | None:
    row = (await conn.execute(
        select(operator_account).where(operator_account.c.email == email.lower()))).one_or_none()
    return _record(row) if row else None


async def get_operator(conn: AsyncConnection, operator_id: uuid.UUID) -> OperatorRecord | None:
    row = (await conn.execute(select(operator_account).where(operator_account.c.id == operator_id))).one_or_none()
    return _record(row) if row else None


async def list_operators(conn: AsyncConnection) -> list[OperatorRecord]:
    rows = await conn.execute(select(operator_account).order_by(operator_account.c.email))
    return [_record(row) for row in rows]


async def change_operator(conn: AsyncConnection, email: str, *, role: str | None = None,
                          disabled: bool | None = None) -> OperatorRecord | None:
    """Set the account's role and/or disable it (from now; an already disabled account keeps
    its date) or enable it again; the account as it stands afterwards, None if no such email.
    api/operator_deps.py reads both at every request, so a change applies to tokens already issued."""
    values: dict = {}
    if role is not None:
        values["role"] = role
    if disabled is True:
        values["disabled_at"] = func.coalesce(operator_account.c.disabled_at, func.now())
    elif disabled is False:
        values["disabled_at"] = None
    if not values:
        return await find_operator_by_email(conn, email)
    row = (await conn.execute(update(operator_account).where(operator_account.c.email == email.lower())
                              .values(**values).returning(*operator_account.c))).one_or_none()
    return _record(row) if row else None
