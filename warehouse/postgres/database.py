"""The API's port to PostgreSQL: connections and transactions without SQLAlchemy in sight.

Services ask `Database.begin()` for a transaction (committed when the block ends,
rolled back when it raises) or `Database.connect()` for reads, and hand the
connection they get to the reader/writer functions of `warehouse.postgres`.

A unique or check constraint the database refuses surfaces as `ConstraintViolation`
naming the constraint, so callers decide what a clash means ("slug taken") without
importing the driver's exception types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["Connection", "Engine", "Database", "ConstraintViolation"]

# What `begin()`/`connect()` yield and the warehouse functions take; named here so that
# callers outside the warehouse can annotate it without importing SQLAlchemy.
Connection: TypeAlias = AsyncConnection
Engine: TypeAlias = AsyncEngine


class ConstraintViolation(Exception):
    """The database refused a write: `constraint` is the constraint's name ("" when unknown)."""

    def __init__(self, constraint: str) -> None:
        super().__init__(f"constraint violated: {constraint or 'unknown'}")
        self.constraint = constraint


def _constraint_name(exc: IntegrityError) -> str:
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    return getattr(diag, "constraint_name", None) or ""


class Database:
    """One application's PostgreSQL: a thin wrapper over its engine (built by the composition root)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise ConstraintViolation(_constraint_name(exc)) from exc

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            yield conn

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """Each statement commits by itself: for single statements on a hot path, where
        BEGIN and COMMIT would be two more round trips than the statement itself."""
        async with self._engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")
