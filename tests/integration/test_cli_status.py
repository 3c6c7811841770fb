"""`meterline status` against the real test stack, run as a user runs it: a subprocess."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import update

from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from tests.support.tenants import create_tenant
from warehouse.postgres.tables import dead_letter
from warehouse.postgres.tenant_scope import tenant_scope
from warehouse.postgres.usage import add_dead_letters, count_dead_letters_since

SERVICES = ("kafka", "postgres", "clickhouse", "stripe", "prefect", "ingest", "stream", "api")


def _meterline_status(env_overrides: dict[str, str] | None = None) -> str:
    cli = Path(sys.executable).with_name("meterline")
    result = subprocess.run([str(cli), "status"], env={**os.environ, **(env_overrides or {})},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _state_of(output: str, service: str) -> str:
    match = re.search(rf"^│ {service}\s+│ (\S+)", output, re.MULTILINE)
    assert match, f"no line for {service}:\n{output}"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _plant_dead_letters(settings: Settings, slug: str) -> int:
    """Three dead letters now and one two hours ago (outside the hour); returns the tenant's count."""
    tenant = await create_tenant(settings, slug)
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            await add_dead_letters(conn, tenant.id, [(f"e{i}", "calls", "bad value", {"id": f"e{i}"}) for i in range(4)])
            scoped = await tenant_scope(conn, tenant.id)
            await scoped.execute(update(dead_letter).where(dead_letter.c.event_id == "e3")
                                 .values(created_at=datetime.now(timezone.utc) - timedelta(hours=2)))
        async with engine.connect() as conn:
            return await count_dead_letters_since(conn, tenant.id, datetime.now(timezone.utc) - timedelta(hours=1))
    finally:
        await engine.dispose()


async def _finished_flow_run(settings: Settings, slug: str) -> str:
    """A flow run in Prefect's API (completed, started now, so the newest); returns its name."""
    api = settings.prefect_api_url
    async with httpx.AsyncClient(base_url=api, timeout=10) as prefect:
        flow = (await prefect.post("/flows/", json={"name": f"status-{slug}"})).raise_for_status().json()
        run = await prefect.post("/flow_runs/", json={"flow_id": flow["id"], "name": f"run-{slug}",
                                                      "state": {"type": "COMPLETED", "name": "Completed"}})
    return run.raise_for_status().json()["name"]


async def test_status_names_every_service_and_a_lag_line_per_partition(stream_worker, ingest_service, api_service,
                                                                        unique_slug):
    settings = stream_worker
    assert await _plant_dead_letters(settings, unique_slug) == 3
    run_name = await _finished_flow_run(settings, unique_slug)
    output = _meterline_status()
    for service in SERVICES:
        assert _state_of(output, service) == "up", output
    topic = settings.kafka.events_topic
    lag_rows = re.findall(rf"^│ {re.escape(topic)}\s+│\s+(\d+) │\s+(\d+) │\s+([\d.?]+) │", output, re.MULTILINE)
    assert sorted(int(p) for p, _, _ in lag_rows) == list(range(settings.kafka.events_partitions)), output
    dead = re.search(r"Dead letters, last hour: (\d+)", output)
    assert dead and int(dead.group(1)) >= 3, output
    assert re.search(rf"^│ status-{unique_slug}\s+│ {run_name}\s+│ Completed\s+│ \d{{4}}-", output, re.MULTILINE), output


async def test_status_says_down_for_services_that_do_not_answer(stack):
    # Ports where nothing listens: the stream worker, the admin API and Prefect are "down",
    # Prefect's section says why instead of failing the command, and lag still shows (it
    # comes from PostgreSQL and Kafka, not from a worker).
    output = _meterline_status({"METERLINE_STREAM__WEB_PORT": str(_free_port()), "METERLINE_API__PORT": str(_free_port()),
                                "METERLINE_PREFECT__API_URL": f"http://127.0.0.1:{_free_port()}/api"})
    assert _state_of(output, "stream") == "down"
    assert _state_of(output, "api") == "down"
    assert _state_of(output, "postgres") == "up"
    assert len(re.findall(rf"^│ {re.escape(stack.kafka.events_topic)}\s+│\s+\d+ │", output, re.MULTILINE)) == \
        stack.kafka.events_partitions, output
    assert "Last flow runs: unknown: Prefect is down" in output
    assert re.search(r"Dead letters, last hour: \d+", output), output


async def test_status_says_unreachable_when_kafka_does_not_answer(stack):
    output = _meterline_status({"METERLINE_KAFKA__PORT": str(_free_port())})
    assert re.search(r"^Consumer lag: unreachable: KafkaConnectionError", output, re.MULTILINE), output
    assert _state_of(output, "postgres") == "up"
