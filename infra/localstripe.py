"""localstripe: a stateful fake of the Stripe API, used unless a Stripe API base is set."""

from __future__ import annotations

import importlib.util
import sys

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


# localstripe pickles its WHOLE store to /tmp/localstripe.pickle on every write,
# even with --from-scratch (which only skips loading it): each write costs time
# in proportion to everything stored so far, so invoicing N tenants is quadratic
# (100 tenants took 165 s, 88 ms a call), and every checkout's localstripe on
# the machine rewrites the same file. We never load it, so we never write it.
_LAUNCHER = (
    "import localstripe.resources as r; r.Store.dump_to_disk = lambda self: None; "
    "from localstripe.server import start; start()"
)


def localstripe_process(settings: Settings) -> ManagedProcess:
    if importlib.util.find_spec("localstripe") is None:
        raise InfraError("stripe: the `localstripe` package is missing; install the project (`make install`)")
    port = settings.stripe.port
    return ManagedProcess(
        name="localstripe",
        # --from-scratch: do not share /tmp/localstripe.pickle with other checkouts.
        command=[sys.executable, "-c", _LAUNCHER, "--port", str(port), "--from-scratch"],
        state_dir=settings.run_dir / "localstripe",
        ready=lambda: _ready(port),
        port=port,
        start_timeout_s=30,
    )
