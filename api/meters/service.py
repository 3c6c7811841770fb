"""Defining meters: one the live plan prices but billing could not combine is refused, and a
slug is unique per tenant."""

from __future__ import annotations

import uuid
from datetime import datetime

from metering import Meter
from warehouse.postgres.database import ConstraintViolation, Database
from warehouse.postgres.meter_rules import set_allow_negative
from warehouse.postgres.meters import insert_meter, list_meters
from warehouse.postgres.plans import current_subscription

from ..billability import could_be_unbillable, refuse_unbillable
from ..domain_errors import Conflict, FieldProblem

__all__ = ["tenant_meters", "define_meter"]

_SLUG_PER_TENANT = "meter_tenant_id_slug_key"


async def tenant_meters(database: Database, tenant_id: uuid.UUID) -> list[Meter]:
    async with database.connect() as conn:
        return await list_meters(conn, tenant_id)


async def define_meter(database: Database, definition: Meter, now: datetime, allow_negative: bool = False) -> Meter:
    try:
        async with database.begin() as conn:
            # Only a meter billing could not combine needs the live plan read at all.
            if could_be_unbillable(definition.slug, definition.aggregation):
                live = await current_subscription(conn, definition.tenant_id, now)
                if live is not None:
                    refuse_unbillable(live.plan, {definition.slug: definition.aggregation},
                                      new_meter=definition.slug)
            created = await insert_meter(conn, definition)
            if allow_negative:  # the stream's Meter does not carry it: only ingest reads it
                await set_allow_negative(conn, definition.tenant_id, definition.slug, True)
            return created
    except ConstraintViolation as exc:
        if exc.constraint != _SLUG_PER_TENANT:
            raise
        raise Conflict(f"a meter with slug '{definition.slug}' already exists", code="meter_exists",
                       problems=[FieldProblem("slug", "already exists")]) from exc
