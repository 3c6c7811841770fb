"""Erasing a purged tenant's rows from ClickHouse: raw events, rollups and unique-count states.

A mutation per table (`ALTER TABLE ... DELETE`), waited for (`mutations_sync = 2`) so that
the purge reports done only once the rows are gone; running it again finds nothing left
and is harmless. Mutations rewrite the parts holding the tenant's rows: fine for a
purge, which is rare, never for a hot path.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["ClickHouseTenantEraser", "TENANT_TABLES"]

# Every table keyed by tenant (usage_unique_value is a Null engine: it stores nothing).
TENANT_TABLES = ("events", "usage_rollup", "usage_unique")


class ClickHouseTenantEraser:
    def __init__(self, client: Any, database: str) -> None:
        self._client = client
        self._database = database

    def erase_tenant(self, tenant_id: str) -> None:
        tid = str(uuid.UUID(tenant_id))  # validated: it is the one value of the statement
        for table in TENANT_TABLES:
            self._client.command(f"ALTER TABLE {self._database}.{table} DELETE WHERE tenant_id = {{tid:UUID}} "
                                 "SETTINGS mutations_sync = 2", parameters={"tid": tid})
