"""localstripe: a stateful fake of the Stripe API, used unless a Stripe API base is set."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx

from meterline.settings import Settings

from .processes import InfraError, ManagedProcess

__all__ = ["localstripe_process"]


def _ready(port: int) -> bool:
    # localstripe answers any authenticated list call once its web app is up.
    response = httpx.get(
        f"http://127.0.0.1:{port}/v1/customers", auth=("sk_test_ready", ""), timeout=1.0
    )
    return response.status_code == 200


def localstripe_process(settings: Settings) -> ManagedProcess:
    executable = Path(sys.executable).with_name("localstripe")
    if not executable.exists():
        found = shutil.which("localstripe")
        if found is None:
            raise InfraError("stripe: the `localstripe` command is missing; install the project (`make install`)")
        executable = Path(found)
    port = settings.stripe.port
    return ManagedProcess(
        name="localstripe",
        # --from-scratch: do not share /tmp/localstripe.pickle with other checkouts.
        command=[str(executable), "--port", str(port), "--from-scratch"],
        state_dir=settings.run_dir / "localstripe",
        ready=lambda: _ready(port),
        port=port,
        start_timeout_s=30,
    )
