"""tenant_0900 against the real PostgreSQL: a tenant schema at tenant_0800 with minute
windows upgrades to a merge that writes hours and days only (the minute table gone, a
minute delta from a worker still running the old code ignored, not an error), and
downgrades back to a working minute table and merge."""

from __future__ import annotations

import json
import uuid

import pytest
from alembic import command
from sqlalchemy import text

from meterline.bootstrap import pg_sync_engine
from meterline.settings import Settings
from warehouse.migrations.runner import _config


def _delta(resolution: str, window_start: str) -> list:
    return [resolution, "tokens", "", window_start, "SUM", "5", 2, None, None]


def _merge(connection, schema: str, deltas: list) -> list[list]:
    rows = connection.execute(text(f'SELECT committed_line FROM "{schema}".merge_usage_windows('
                                   'CAST(:w AS jsonb), :tenant)'),
                              {"w": json.dumps(deltas), "tenant": "t"}).all()
    return [json.loads(row[0]) for row in rows]


def _has_minute_table(connection, schema: str) -> bool:
    return connection.execute(text("SELECT to_regclass(:name) IS NOT NULL"),
                              {"name": f'"{schema}".usage_minute'}).scalar_one()


def _migrate(connection, schema: str, revision: str, down: bool = False) -> None:
    config = _config("tenant", connection, schema)
    (command.downgrade if down else command.upgrade)(config, revision)
    connection.exec_driver_sql("SET search_path TO public")


@pytest.fixture
def schema(stack: Settings):
    engine = pg_sync_engine(stack)
    name = f"mig_{uuid.uuid4().hex[:12]}"
    try:
        yield engine, name
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        engine.dispose()


def test_minute_windows_go_on_upgrade_and_come_back_on_downgrade(schema):
    engine, name = schema
    minute, hour = "2026-12-07T10:05:00+00:00", "2026-12-07T10:00:00+00:00"
    with engine.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        _migrate(connection, name, "tenant_0800")
        before = _merge(connection, name, [_delta("hour", hour), _delta("minute", minute)])
        assert sorted(line[1] for line in before) == ["hour", "minute"]

        _migrate(connection, name, "tenant_0900")
        assert not _has_minute_table(connection, name)
        after = _merge(connection, name, [_delta("day", "2026-12-07T00:00:00+00:00"), _delta("hour", hour),
                                          _delta("minute", minute)])
        assert sorted(line[1] for line in after) == ["day", "hour"]
        hour_line = next(line for line in after if line[1] == "hour")
        assert (hour_line[6], hour_line[7], hour_line[10]) == ("10", 4, 2)  # merged into the old row

        _migrate(connection, name, "tenant_0800", down=True)
        assert _has_minute_table(connection, name)
        again = _merge(connection, name, [_delta("minute", minute)])
        assert [(line[1], line[6], line[7]) for line in again] == [("minute", "5", 2)]
