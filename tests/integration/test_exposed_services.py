"""Services refuse to start beyond loopback with the built-in development secrets, in any
environment; with real secrets (or on loopback) they start. Real processes, real ports."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from meterline.settings import Settings
from tests.support.receivers import free_port

pytestmark = pytest.mark.integration

METERLINE_CLI = str(Path(sys.executable).with_name("meterline"))


def serve(service: str, extra_env: dict[str, str], seconds: float = 20.0) -> subprocess.CompletedProcess | None:
    """Run `meterline serve <service>`; its result if it exits within `seconds`, else None
    (it is serving; it is stopped)."""
    env = {**os.environ, **extra_env}
    process = subprocess.Popen([METERLINE_CLI, "serve", service], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.communicate(timeout=20)
        return None
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.parametrize("environment", ["local", "test"])
@pytest.mark.parametrize("service", ["api", "ingest"])
def test_dev_secrets_refused_on_a_non_loopback_bind(stack: Settings, service: str, environment: str):
    port = free_port()
    result = serve(service, {"METERLINE_ENVIRONMENT": environment,
                             f"METERLINE_{service.upper()}__HOST": "0.0.0.0",
                             f"METERLINE_{service.upper()}__PORT": str(port)})
    assert result is not None, f"{service} served on 0.0.0.0 with the development secrets"
    assert result.returncode != 0
    assert f"METERLINE_JWT__SECRET must be set when {service} binds beyond loopback" in result.stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)


def test_with_real_secrets_the_api_serves_on_a_non_loopback_bind(stack: Settings):
    port = free_port()
    env = {"METERLINE_API__HOST": "0.0.0.0", "METERLINE_API__PORT": str(port),
           "METERLINE_JWT__SECRET": "a-real-secret-" + "x" * 40, "METERLINE_API__OPERATOR_TOKEN": "a-real-token-" + "y" * 20}
    answered: list[int] = []

    def probe() -> None:
        for _ in range(100):
            try:
                answered.append(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code)
                return
            except httpx.TransportError:
                time.sleep(0.2)

    thread = threading.Thread(target=probe)
    thread.start()
    result = serve("api", env, seconds=25.0)
    thread.join()
    assert result is None, result and result.stderr[-2000:]
    assert answered == [200]
