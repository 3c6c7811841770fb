"""Pipeline health for SREs (permission pipeline.read): what `meterline status` shows, over HTTP.

- ingest: events stored per minute of their acceptance by ingest (ClickHouse `received_at`),
  over the last `WINDOW`; events still waiting in Kafka are counted once the stream applies
  them, which the lag beside it says;
- lag per partition in records and seconds, by the stream's own rule (metering/freshness.py),
  from Kafka end offsets and the positions in PostgreSQL: known with every worker down;
- dead letters of every tenant in the last hour and day;
- the last flow runs of every flow, with their Prefect UI addresses.

Each section is gathered on its own with a time limit, and a failed one is named in
`unavailable` with why: the view answers best exactly when part of the stack is broken.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from warehouse.postgres.database import Database
from warehouse.postgres.analytics import dead_letters_since

from ..deps import DatabaseDep
from ..errors import error_responses
from ..invoice_runs.deps import InvoiceRunsDep, Now
from ..operator_deps import require_permission
from ..subscriptions.deps import UsageHorizon
from ..usage.query_deps import FineUsageReaderDep, WatermarkDep

__all__ = ["router", "PipelineHealthPublic"]

WINDOW = timedelta(minutes=15)
FLOW_RUNS_SHOWN = 10
SECTION_TIMEOUT_S = 5.0
T = TypeVar("T")

PipelineReader = Annotated[object, Depends(require_permission("pipeline.read"))]

router = APIRouter(prefix="/v1/operator/analytics", tags=["analytics"], responses=error_responses(
    (401, "No operator access token, or not one (a tenant's token)"), (403, "The operator's role may not read this")))


class IngestMinutePublic(BaseModel):
    minute: datetime = Field(description="Start of the minute (UTC) in which ingest accepted them")
    events: int


class PartitionLagPublic(BaseModel):
    partition: int
    end_offset: int = Field(description="Kafka's end offset of the events topic's partition")
    committed_offset: int = Field(description="The next offset the stream will apply (its position in PostgreSQL)")
    lag_records: int
    lag_seconds: float | None = Field(description="Now minus the last applied record's time; 0 caught up; null: "
                                                  "records waiting and none applied yet")


class FlowRunPublic(BaseModel):
    flow: str
    name: str
    state: str
    state_type: str
    started_at: datetime | None
    ui_url: str


class PipelineHealthPublic(BaseModel):
    as_of: datetime
    window_minutes: int = Field(description="The span of `ingest_per_minute`")
    ingest_per_minute: list[IngestMinutePublic] | None = Field(description="Minutes with events only; null: "
                                                                           "unavailable")
    lag: list[PartitionLagPublic] | None
    dead_letters_last_hour: int | None
    dead_letters_last_day: int | None
    flow_runs: list[FlowRunPublic] | None
    unavailable: dict[str, str] = Field(description="Section -> why it could not be read (ingest, lag, "
                                                    "dead_letters, flow_runs)")


async def _dead_letters(database: Database, now: datetime) -> tuple[int, int]:
    async with database.connect() as conn:
        return await dead_letters_since(conn, now - timedelta(hours=1), now - timedelta(days=1))


async def _section(name: str, work: Awaitable[T], unavailable: dict[str, str]) -> T | None:
    try:
        return await asyncio.wait_for(work, SECTION_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - a store down: this section says so, the others answer
        unavailable[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return None


@router.get("/pipeline", response_model=PipelineHealthPublic)
async def pipeline(_operator: PipelineReader, now: Now, database: DatabaseDep, events: FineUsageReaderDep,
                   watermark: WatermarkDep, runs: InvoiceRunsDep, horizon: UsageHorizon) -> PipelineHealthPublic:
    """Ingest rate, consumer lag per partition, dead letters and the last flow runs, each read now."""
    unavailable: dict[str, str] = {}
    minutes, freshness, dead, recent = await asyncio.gather(
        _section("ingest", events.received_per_minute(now - WINDOW, horizon), unavailable),
        _section("lag", watermark.freshness(), unavailable),
        _section("dead_letters", _dead_letters(database, now), unavailable),
        _section("flow_runs", runs.recent(FLOW_RUNS_SHOWN), unavailable))
    lag: Any = None if freshness is None else [
        PartitionLagPublic(partition=p.partition, end_offset=p.end_offset, committed_offset=p.next_offset,
                           lag_records=p.lag, lag_seconds=p.lag_seconds) for p in freshness.partitions]
    return PipelineHealthPublic(
        as_of=now, window_minutes=int(WINDOW.total_seconds() // 60),
        ingest_per_minute=None if minutes is None else [IngestMinutePublic(minute=m, events=n) for m, n in minutes],
        lag=lag, dead_letters_last_hour=None if dead is None else dead[0],
        dead_letters_last_day=None if dead is None else dead[1],
        flow_runs=None if recent is None else [FlowRunPublic(**vars(run)) for run in recent],
        unavailable=unavailable)
