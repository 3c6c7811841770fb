"""warehouse.postgres.database.Database against the real PostgreSQL: a block's writes commit
together or not at all, and a refused constraint surfaces by name as ConstraintViolation."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from meterline.bootstrap import pg_engine
from warehouse.postgres.database import ConstraintViolation, Database

pytestmark = pytest.mark.integration


@pytest.fixture
async def database(stack):
    engine = pg_engine(stack)
    table = f"port_check_{uuid.uuid4().hex[:12]}"
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {table} (slug text CONSTRAINT {table}_slug_key UNIQUE)"))
    yield Database(engine), table
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE {table}"))
    await engine.dispose()


async def _slugs(database: Database, table: str) -> list[str]:
    async with database.connect() as conn:
        return list((await conn.execute(text(f"SELECT slug FROM {table} ORDER BY slug"))).scalars())


async def test_a_block_that_ends_normally_commits(database) -> None:
    db, table = database
    async with db.begin() as conn:
        await conn.execute(text(f"INSERT INTO {table} VALUES ('a'), ('b')"))

    assert await _slugs(db, table) == ["a", "b"]


async def test_a_block_that_raises_rolls_back_and_the_error_passes_through(database) -> None:
    db, table = database
    with pytest.raises(LookupError):
        async with db.begin() as conn:
            await conn.execute(text(f"INSERT INTO {table} VALUES ('a')"))
            raise LookupError("the caller's own refusal")

    assert await _slugs(db, table) == []


async def test_a_unique_clash_is_a_constraint_violation_naming_the_constraint(database) -> None:
    db, table = database
    async with db.begin() as conn:
        await conn.execute(text(f"INSERT INTO {table} VALUES ('a')"))

    with pytest.raises(ConstraintViolation) as clash:
        async with db.begin() as conn:
            await conn.execute(text(f"INSERT INTO {table} VALUES ('b')"))
            await conn.execute(text(f"INSERT INTO {table} VALUES ('a')"))

    assert clash.value.constraint == f"{table}_slug_key"
    assert await _slugs(db, table) == ["a"]
