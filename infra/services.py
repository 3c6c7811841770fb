"""Meterline's own services (ingest, stream worker, admin API, the flows' deployments) as background processes."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from meterline.settings import Settings

from .prefect_server import prefect_env
from .processes import ManagedProcess

__all__ = ["service_process", "SERVICE_NAMES"]

# "flows" serves every deployment with its schedule (flows/serve.py): the Prefect UI
# lists them from `stack up` on, and finance can run them from there.
SERVICE_NAMES = ("stream", "ingest", "api", "flows")


def _http_ok(url: str) -> bool:
    return httpx.get(url, timeout=1.0).status_code == 200


def _deployments_served(prefect_api_url: str) -> bool:
    """Every deployment registered and polled by its runner (Prefect marks it READY)."""
    from flows.deployments import DEPLOYMENT_NAMES

    flow_filter = {"flows": {"name": {"any_": sorted({name.split("/")[0] for name in DEPLOYMENT_NAMES})}}}
    response = httpx.post(f"{prefect_api_url}/deployments/filter", timeout=2.0, json=flow_filter)
    if response.status_code != 200:
        return False
    flows = httpx.post(f"{prefect_api_url}/flows/filter", timeout=2.0, json=flow_filter).json()
    flow_names = {f["id"]: f["name"] for f in flows}
    ready = {f"{flow_names.get(d['flow_id'])}/{d['name']}" for d in response.json() if d.get("status") == "READY"}
    return set(DEPLOYMENT_NAMES) <= ready


def service_process(settings: Settings, name: str) -> ManagedProcess:
    cli = str(Path(sys.executable).with_name("meterline"))
    ports = {"ingest": settings.ingest.port, "api": settings.api.port, "stream": settings.stream.web_port}
    health = {
        "ingest": f"http://127.0.0.1:{settings.ingest.port}/healthz",
        "api": f"http://127.0.0.1:{settings.api.port}/healthz",
        "stream": f"{settings.stream_web_url}/healthz",
    }
    if name == "flows":
        return ManagedProcess(name=name, command=[cli, "serve", name], state_dir=settings.run_dir / "services",
                              ready=lambda: _deployments_served(settings.prefect_api_url),
                              # A run started from the UI or the API begins within seconds (default 10).
                              env={**prefect_env(settings), "PREFECT_RUNNER_POLL_FREQUENCY": "2"},
                              start_timeout_s=90)
    return ManagedProcess(
        name=name,
        command=[cli, "serve", name],
        state_dir=settings.run_dir / "services",
        ready=lambda: _http_ok(health[name]),
        port=ports[name],
        env=prefect_env(settings),
        start_timeout_s=90,
    )
