"""Meterline's own services (ingest, stream worker, admin API) as background processes."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from meterline.settings import Settings

from .prefect_server import prefect_env
from .processes import ManagedProcess

__all__ = ["service_process", "SERVICE_NAMES"]

SERVICE_NAMES = ("stream", "ingest", "api")


def _http_ok(url: str) -> bool:
    return httpx.get(url, timeout=1.0).status_code == 200


def service_process(settings: Settings, name: str) -> ManagedProcess:
    cli = str(Path(sys.executable).with_name("meterline"))
    ports = {"ingest": settings.ingest.port, "api": settings.api.port, "stream": settings.stream.web_port}
    health = {
        "ingest": f"http://127.0.0.1:{settings.ingest.port}/healthz",
        "api": f"http://127.0.0.1:{settings.api.port}/healthz",
        "stream": f"{settings.stream_web_url}/healthz",
    }
    return ManagedProcess(
        name=name,
        command=[cli, "serve", name],
        state_dir=settings.run_dir / "services",
        ready=lambda: _http_ok(health[name]),
        port=ports[name],
        env=prefect_env(settings),
        start_timeout_s=90,
    )
