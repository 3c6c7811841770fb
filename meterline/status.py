"""`meterline status`: one screen for an operator: services, consumer lag, dead letters, flow runs.

Each section is gathered on its own and a failure becomes that section's message
("down", "unreachable: ..."), so the command answers best exactly when part of the
stack is broken, which is when it is needed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from meterline.settings import Settings

__all__ = ["StatusReport", "collect_status", "render_status"]

_TIMEOUT_S = 2.0
_DEAD_LETTER_WINDOW = timedelta(hours=1)
_FLOW_RUNS_SHOWN = 5


@dataclass(frozen=True)
class ServiceLine:
    name: str
    state: str  # up, down, unreachable, external
    detail: str


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    records: int
    seconds: float | None  # None: nothing applied yet on a partition that has records


@dataclass(frozen=True)
class FlowRunLine:
    flow: str
    run: str
    state: str
    started: str


@dataclass(frozen=True)
class StatusReport:
    services: list[ServiceLine]
    lag: list[PartitionLag] | str  # a str says why it is unknown
    dead_letters_last_hour: int | str
    flow_runs: list[FlowRunLine] | str


def _unreachable(exc: Exception) -> str:
    name, text = type(exc).__name__, str(exc)
    return f"unreachable: {text if text.startswith(name) else f'{name}: {text}'}".splitlines()[0][:120]


def _infra_lines(settings: Settings) -> list[ServiceLine]:
    from infra import infra_status

    names = {"running": "up", "stopped": "down"}
    return [ServiceLine(s.name, names.get(s.state, s.state), s.detail) for s in infra_status(settings)]


def _meterline_lines(settings: Settings) -> list[ServiceLine]:
    health = {
        "ingest": f"http://127.0.0.1:{settings.ingest.port}/healthz",
        "stream": f"{settings.stream_web_url}/healthz",
        "api": f"http://127.0.0.1:{settings.api.port}/healthz",
    }
    lines = []
    for name, url in health.items():
        try:
            answer = httpx.get(url, timeout=_TIMEOUT_S)
            state = "up" if answer.status_code == 200 else f"unhealthy ({answer.status_code})"
        except httpx.ConnectError:
            state = "down"
        except httpx.HTTPError as exc:
            state = _unreachable(exc)
        lines.append(ServiceLine(name, state, url))
    return lines


async def _partition_lags(settings: Settings) -> list[PartitionLag]:
    """From PostgreSQL positions and Kafka end offsets, by the stream's own rule, so lag is
    known exactly when it matters most: with every stream worker down."""
    from api.usage.watermark import WatermarkSource
    from warehouse.postgres.engine import create_pg_engine

    engine = create_pg_engine(settings.postgres_url, pool_size=1)
    source = WatermarkSource(settings.kafka, settings.stream.consumer_group, engine)
    try:
        result = await source.freshness()
    finally:
        await source.aclose()
        await engine.dispose()
    return [PartitionLag(settings.kafka.events_topic, p.partition, p.lag, p.lag_seconds) for p in result.partitions]


def _lag(settings: Settings) -> list[PartitionLag] | str:
    # aiokafka logs each failed connection on stderr; the section already says Kafka is unreachable.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(asyncio.wait_for(_partition_lags(settings), 15))
    except Exception as exc:  # noqa: BLE001 - Kafka or PostgreSQL down: this section says so
        return _unreachable(exc)


async def _count_dead_letters(settings: Settings, since: datetime) -> int:
    from warehouse.postgres.engine import create_pg_engine
    from warehouse.postgres.tenant_scope import all_tenant_ids
    from warehouse.postgres.usage import count_dead_letters_since

    engine = create_pg_engine(settings.postgres_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return sum([await count_dead_letters_since(conn, tenant_id, since)
                        for tenant_id in await all_tenant_ids(conn)])
    finally:
        await engine.dispose()


def _dead_letters(settings: Settings, now: datetime) -> int | str:
    try:
        return asyncio.run(asyncio.wait_for(_count_dead_letters(settings, now - _DEAD_LETTER_WINDOW), 10))
    except Exception as exc:  # noqa: BLE001 - any failure is this section's answer, not the command's
        return _unreachable(exc)


def _flow_runs(settings: Settings) -> list[FlowRunLine] | str:
    api = settings.prefect_api_url.rstrip("/")
    try:
        runs = httpx.post(f"{api}/flow_runs/filter", json={"sort": "START_TIME_DESC", "limit": _FLOW_RUNS_SHOWN},
                          timeout=_TIMEOUT_S).raise_for_status().json()
        flow_ids = sorted({run["flow_id"] for run in runs})
        flows = httpx.post(f"{api}/flows/filter", json={"flows": {"id": {"any_": flow_ids}}},
                           timeout=_TIMEOUT_S).raise_for_status().json() if flow_ids else []
    except httpx.ConnectError:
        return "unknown: Prefect is down"
    except (httpx.HTTPError, ValueError) as exc:
        return _unreachable(exc)
    flow_names = {flow["id"]: flow["name"] for flow in flows}
    return [FlowRunLine(flow_names.get(run["flow_id"], run["flow_id"]), run["name"],
                        (run.get("state") or {}).get("name") or run.get("state_type") or "?",
                        (run.get("start_time") or run.get("expected_start_time") or "")[:19].replace("T", " "))
            for run in runs]


def collect_status(settings: Settings) -> StatusReport:
    try:
        services = _infra_lines(settings)
    except Exception as exc:  # noqa: BLE001 - the run dir may be unreadable; the rest still answers
        services = [ServiceLine("infra", _unreachable(exc), "")]
    return StatusReport(services + _meterline_lines(settings), _lag(settings),
                        _dead_letters(settings, datetime.now(timezone.utc)), _flow_runs(settings))


def _state_style(state: str) -> str:
    return {"up": "green", "external": "cyan", "down": "red"}.get(state, "yellow")


def render_status(report: StatusReport, console: Console) -> None:
    services = Table(title="Services", title_justify="left")
    for column in ("service", "state", "where"):
        services.add_column(column)
    for s in report.services:
        services.add_row(s.name, f"[{_state_style(s.state)}]{escape(s.state)}[/]", escape(s.detail))
    console.print(services)

    if isinstance(report.lag, str):
        console.print(f"[bold]Consumer lag[/]: [yellow]{escape(report.lag)}[/]")
    else:
        lag = Table(title="Consumer lag", title_justify="left")
        for column in ("topic", "partition", "records", "seconds"):
            lag.add_column(column, justify="left" if column == "topic" else "right")
        for p in report.lag:
            seconds = "?" if p.seconds is None else f"{p.seconds:.1f}"
            lag.add_row(p.topic, str(p.partition), str(p.records), seconds)
        console.print(lag)

    style = "yellow" if isinstance(report.dead_letters_last_hour, str) or report.dead_letters_last_hour else "green"
    console.print(f"[bold]Dead letters, last hour[/]: [{style}]{escape(str(report.dead_letters_last_hour))}[/]")

    if isinstance(report.flow_runs, str):
        console.print(f"[bold]Last flow runs[/]: [yellow]{escape(report.flow_runs)}[/]")
    elif not report.flow_runs:
        console.print("[bold]Last flow runs[/]: none yet")
    else:
        runs = Table(title="Last flow runs", title_justify="left")
        for column in ("flow", "run", "state", "started (UTC)"):
            runs.add_column(column)
        for run in report.flow_runs:
            runs.add_row(escape(run.flow), escape(run.run), escape(run.state), run.started)
        console.print(runs)
