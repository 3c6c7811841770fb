"""localstripe: a stateful fake of the Stripe API, used unless a Stripe API base is set."""

from __future__ import annotations

import importlib.util
import sys

import httpx

from meterline.settings import Settings

from .processes import InfraError, ManagedProcess

__all__ = ["localstripe_process"]


def _ready(port: int) -> bool:
    # localstripe answers any authenticated list call once its web app is up. The add_lines
    # probe tells our launcher's server (Stripe's JSON 404 for an unknown invoice) from a
    # stock or older one left running (a plain 404 for an unknown route): the adapter's
    # every invoice would fail on that one, so it must not pass for ready.
    auth = ("sk_test_ready", "")
    base = f"http://127.0.0.1:{port}/v1"
    if httpx.get(f"{base}/customers", auth=auth, timeout=1.0).status_code != 200:
        return False
    probe = httpx.post(f"{base}/invoices/in_ready_probe/add_lines", auth=auth, timeout=1.0)
    return probe.status_code == 404 and "error" in _json_or_empty(probe)


def _json_or_empty(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# localstripe as shipped pickles its whole store on every write and finds objects by
# scanning the whole store, even inside calls that are not lists (paying an invoice,
# creating one, exporting a customer): every call got slower with everything stored.
# The launcher patches both before serving; why and how: infra/localstripe_index.py.
# It also adds Stripe's `POST /v1/invoices/{id}/add_lines`, which localstripe lacks, so
# the adapter adds an invoice's lines in one call as on real Stripe (and keeps invoice
# metadata, which localstripe drops): infra/localstripe_add_lines.py.
_LAUNCHER = (
    "import infra.localstripe_index as patches, infra.localstripe_add_lines as add_lines; "
    "patches.install(); add_lines.install(); "
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
