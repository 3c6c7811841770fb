"""Engines for PostgreSQL (psycopg 3): async for services, sync for migrations."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["sqlalchemy_url", "create_sync_engine", "create_pg_engine"]


def sqlalchemy_url(url: str) -> str:
    """Accept plain libpq URLs (as users write them) and pick the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")


def create_sync_engine(url: str) -> Engine:
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True)


def create_pg_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    # LIFO: the connection used last is used next. A session's PL/pgSQL functions and their
    # plans are cached per connection (the stream's claims and window merges, one set per
    # tenant); FIFO handed each transaction the coldest connection of the pool.
    return create_async_engine(sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size,
                               pool_pre_ping=True, pool_use_lifo=True)
