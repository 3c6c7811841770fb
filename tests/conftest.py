"""Session fixtures: real services for every test that touches one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Tests run beside a developer's own stack without touching it: their own run
# directory and ports, unless the environment already names real services.
_TEST_DEFAULTS = {
    "METERLINE_ENVIRONMENT": "test",
    "METERLINE_RUN_DIR": str(Path(__file__).resolve().parent.parent / ".run" / "test"),
    "METERLINE_KAFKA__PORT": "29092",
    "METERLINE_KAFKA__CONTROLLER_PORT": "29093",
    "METERLINE_STRIPE__PORT": "28420",
    "METERLINE_PREFECT__PORT": "24200",
    "METERLINE_INGEST__PORT": "28080",
    "METERLINE_API__PORT": "28000",
    "METERLINE_STREAM__WEB_PORT": "26066",
    "METERLINE_CLICKHOUSE__PORT": "28123",
    "METERLINE_TEST_PROMETHEUS_PORT": "29090",  # tests/integration/test_prometheus_scrape.py
    "METERLINE_KAFKA__EVENTS_TOPIC": "meterline.events",
    # The served deployments (fixture flows_service) run only when a test starts them: a
    # scheduled limit check or dunning run would act on every other test's tenants.
    "METERLINE_BILLING__SCHEDULES_ACTIVE": "false",
    # The webhook receivers of tests/support/receivers.py listen on 127.0.0.1; the
    # refusal of such targets is tested with the setting off (test_webhook_targets.py).
    "METERLINE_NOTIFY__ALLOW_PRIVATE_TARGETS": "true",
    # Every test registers and logs in from 127.0.0.1, and the counters live in the shared
    # database across runs: the abuse limits are tested with their own low settings
    # (test_abuse_limits.py), everything else runs far below these.
    "METERLINE_API__REGISTRATIONS_PER_ADDRESS_PER_HOUR": "1000000",
    "METERLINE_API__REGISTRATIONS_PER_HOUR": "1000000",
    "METERLINE_API__LOGIN_FAILURES_PER_ADDRESS": "1000000",
    "METERLINE_API__INVITATION_PREVIEWS_PER_ADDRESS_PER_MINUTE": "1000000",
    "METERLINE_API__REQUESTS_PER_MINUTE_DEFAULT": "1000000",
    "METERLINE_API__REQUESTS_PER_MINUTE_PER_USER": "1000000",
}
for _name, _value in _TEST_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
# Tests that give a worker a run directory of its own still use the session's ClickHouse
# host (same port): they need its secret, which lives under the session's run directory.
os.environ.setdefault("METERLINE_CLICKHOUSE__HOST_SECRET_FILE",
                      os.path.join(os.environ["METERLINE_RUN_DIR"], "clickhouse-host", "secret"))
# Flows run against the test session's Prefect server, with their own Prefect home.
os.environ.setdefault("PREFECT_API_URL", f"http://127.0.0.1:{os.environ['METERLINE_PREFECT__PORT']}/api")
os.environ.setdefault("PREFECT_HOME", os.path.join(os.environ["METERLINE_RUN_DIR"], "prefect-client"))
# Prefect creates its home non-recursively at import; on a clean clone the run dir is not there yet.
os.makedirs(os.environ["PREFECT_HOME"], exist_ok=True)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from infra import infra_down, infra_up  # noqa: E402
from meterline.settings import Settings  # noqa: E402

from .services import docker_engine_answers, start_containers  # noqa: E402


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """Every real service up and answering; yields the settings that reach them."""
    containers = start_containers() if docker_engine_answers() else []
    settings = Settings()
    from infra.stack import infra_status

    already_running = {s.name for s in infra_status(settings) if s.state in ("running", "external")}
    infra_up(settings, report=lambda line: None)
    from meterline.bootstrap import migrate

    migrate(settings)
    yield settings
    if not already_running and os.environ.get("METERLINE_KEEP_TEST_STACK") != "1":
        infra_down(settings, report=lambda line: None)
    for container in containers:
        container.stop()


@dataclass(frozen=True)
class StripeService:
    api_key: str
    api_base: str
    local: bool


@pytest.fixture(scope="session")
def stripe_service(stack: Settings) -> StripeService:
    return StripeService(stack.stripe.api_key.get_secret_value(), stack.stripe_api_base, stack.stripe_is_local)


@pytest.fixture
def unique_slug() -> str:
    return "t" + uuid.uuid4().hex[:10]


def _service(stack: Settings, name: str) -> Iterator[Settings]:
    from infra.services import service_process

    process = service_process(stack, name)
    started_here = not process.is_running()
    process.start()
    yield stack
    if started_here and os.environ.get("METERLINE_KEEP_TEST_STACK") != "1":
        process.stop()


@pytest.fixture(scope="session")
def stream_worker(stack: Settings) -> Iterator[Settings]:
    """The faust worker as its own process (it owns the embedded chDB directory)."""
    yield from _service(stack, "stream")


@pytest.fixture(scope="session")
def ingest_service(stack: Settings) -> Iterator[Settings]:
    yield from _service(stack, "ingest")


@pytest.fixture(scope="session")
def api_service(stack: Settings) -> Iterator[Settings]:
    yield from _service(stack, "api")


@pytest.fixture(scope="module")
async def admin_api(stack: Settings):
    """The admin API in-process (ASGI, its lifespan run) over the session's PostgreSQL and
    localstripe: an httpx client."""
    from tests.support.admin_api import asgi_client

    async with asgi_client(stack) as client:
        yield client


@pytest.fixture(scope="module")
async def pg(stack: Settings):
    """Our own engine, to look at and arrange the database beside the API."""
    from meterline.bootstrap import pg_engine

    engine = pg_engine(stack)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def flows_service(stack: Settings) -> Iterator[Settings]:
    """`meterline serve flows`: every deployment served, as `stack up` does (schedules paused)."""
    yield from _service(stack, "flows")
