"""The Prefect server (API and UI) for schedules and flow runs."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from meterline.settings import Settings

from .processes import ManagedProcess

__all__ = ["prefect_process", "prefect_env"]


def prefect_env(settings: Settings) -> dict[str, str]:
    """Environment every Meterline process uses to reach Prefect."""
    return {
        "PREFECT_HOME": str(settings.run_dir / "prefect"),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }


def _ready(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1.0).status_code == 200


def prefect_process(settings: Settings) -> ManagedProcess:
    port = settings.prefect.port
    env = prefect_env(settings)
    env.pop("PREFECT_API_URL")  # the server itself must not point at itself as a client
    env["PREFECT_UI_API_URL"] = f"http://127.0.0.1:{port}/api"
    return ManagedProcess(
        name="prefect",
        command=[str(Path(sys.executable).with_name("prefect")), "server", "start",
                 "--host", "127.0.0.1", "--port", str(port)],
        state_dir=settings.run_dir / "prefect",
        ready=lambda: _ready(port),
        port=port,
        env=env,
        start_timeout_s=120,
    )
