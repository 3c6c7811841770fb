"""The real Prometheus, with infra/monitoring/'s configuration, scraping the embedded stack.

Only the targets change (the compose host names become the stack's loopback ports) and the
intervals shrink to a second. After real traffic through ingest and the stream, an invoice
run and a usage reconciliation (flows run in this process against the session's Prefect
server, which the admin API's /metrics reads), every dashboard panel's query must return
numbers, every metric the rules and panels name must exist, every target must be up, and
every alert rule must evaluate without error.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import yaml

from billing_jobs.plans import Plan
from flows.invoicing import generate_invoices, parse_period
from flows.reconcile import reconcile_usage
from infra.processes import ManagedProcess
from meterline.bootstrap import pg_engine
from meterline.settings import Settings
from tests.support.tenants import create_tenant
from tests.support.tools import prometheus_binaries
from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription

pytestmark = pytest.mark.integration

MONITORING = Path(__file__).resolve().parents[2] / "infra" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "meterline.json"
RULES = MONITORING / "rules" / "meterline.rules.yml"

_METRIC = re.compile(r"\b((?:meterline|kafka)_[a-z0-9_]+|up)\b")


def _local_targets(settings: Settings) -> dict[str, str]:
    return {
        "ingest": f"127.0.0.1:{settings.ingest.port}",
        "stream": f"127.0.0.1:{settings.stream.web_port}",
        "api": f"127.0.0.1:{settings.api.port}",
    }


def _local_config(settings: Settings, directory: Path) -> Path:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    targets = _local_targets(settings)
    assert {job["job_name"] for job in config["scrape_configs"]} == set(targets), "a new scrape job needs a local target here"
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(RULES)]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def prometheus(stream_worker, ingest_service, api_service) -> str:
    settings = api_service
    binary, _ = prometheus_binaries()
    port = int(os.environ["METERLINE_TEST_PROMETHEUS_PORT"])
    state = settings.run_dir / "prometheus"
    url = f"http://127.0.0.1:{port}"
    process = ManagedProcess(
        name="prometheus", state_dir=state, port=port, start_timeout_s=60,
        command=[binary, f"--config.file={state / 'prometheus.yml'}", f"--storage.tsdb.path={state / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}"],
        ready=lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200)
    process.stop()  # a leftover from an earlier run would keep its old configuration
    shutil.rmtree(state / "data", ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    _local_config(settings, state)
    process.start()
    yield url
    process.stop()


def _query(prometheus: str, expr: str) -> list[dict]:
    body = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", f"{expr}: {body}"
    return body["data"]["result"]


def _numbers(result: list[dict]) -> list[float]:
    return [float(sample["value"][1]) for sample in result]


def _panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]


def _rule_queries() -> list[str]:
    return [rule["expr"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


async def _send_batch(ingest: httpx.AsyncClient) -> None:
    now = datetime.now(timezone.utc).isoformat()
    events = [{"id": str(uuid.uuid4()), "source": "monitoring-test", "type": "api.call", "subject": "customer-1",
               "time": now, "data": {}} for _ in range(50)]
    assert (await ingest.post("/v1/events", json=events)).status_code == 202
    # A refused request, so the status breakdown has more than one series.
    assert (await ingest.post("/v1/events", json=[{"id": "x"}])).status_code == 422


async def _run_flows(settings, tenant) -> None:
    """An invoice issued for last month through generate-invoices, and a reconcile-usage run:
    flow runs, a last success, an invoice total and a reconciliation for /metrics to report."""
    plan = Plan.model_validate({"slug": f"plan-{tenant.slug}", "name": "Monitoring", "currency": "USD",
                                "flat_fee": "10.00", "charges": []})
    start, _ = parse_period(None, datetime.now(timezone.utc).date())  # last month: closed, billed by default
    engine = pg_engine(settings)
    try:
        async with engine.begin() as conn:
            await insert_plan(conn, plan)
            plan_id, _ = await get_plan(conn, plan.slug)
            await insert_subscription(conn, tenant.id, plan_id,
                                      started_at=datetime.combine(start, datetime.min.time(), timezone.utc))
    finally:
        await engine.dispose()
    (summary,) = generate_invoices(tenants=[str(tenant.id)])
    assert summary.total_minor == 1000
    assert (await reconcile_usage(tenants=[str(tenant.id)]))["differences"] == 0


async def test_every_dashboard_panel_and_rule_query_returns_data(prometheus, api_service, unique_slug):
    settings = api_service
    tenant = await create_tenant(settings, unique_slug, [("calls", "api.call", "COUNT", None)])
    await _run_flows(settings, tenant)
    panels = _panel_queries()

    def answers(expr: str) -> bool:
        values = _numbers(_query(prometheus, expr))
        return bool(values) and not any(map(math.isnan, values))

    # Traffic every second until every panel answers: a counter's rate needs an increase
    # between two scrapes, and series appear only with their first event.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.ingest.port}", timeout=30,
                                 headers={"Authorization": f"Bearer {tenant.api_key}"}) as ingest:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            await _send_batch(ingest)
            if all(answers(expr) for _, expr in panels):
                break
            await asyncio.sleep(1)
    for title, expr in panels:
        values = _numbers(_query(prometheus, expr))
        assert values, f"panel {title!r}: {expr} returned nothing"
        assert not any(map(math.isnan, values)), f"panel {title!r}: {expr} returned NaN {values}"

    names = {name for expr in [e for _, e in panels] + _rule_queries() for name in _METRIC.findall(expr)}
    missing = {name for name in names if not _query(prometheus, f'count({{__name__="{name}"}})')}
    assert missing == set()

    down = {sample["metric"]["job"] for sample in _query(prometheus, "up == 0")}
    assert down == set()
    # The flows that ran here, as /metrics computed them from Prefect's records.
    runs = _query(prometheus, 'meterline_flow_runs_total{flow=~"generate-invoices|reconcile-usage", state="completed"}')
    assert {sample["metric"]["flow"] for sample in runs if float(sample["value"][1]) >= 1} == {
        "generate-invoices", "reconcile-usage"}


def test_alert_rules_evaluate_against_the_live_series(prometheus):
    def groups() -> list[dict]:
        return httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]

    deadline = time.monotonic() + 30
    # A rule not evaluated yet reports the zero time.
    while (any(rule["lastEvaluation"].startswith("0001") for group in groups() for rule in group["rules"])
           and time.monotonic() < deadline):
        time.sleep(1)
    rules = [rule for group in groups() for rule in group["rules"]]
    assert all(not rule["lastEvaluation"].startswith("0001") for rule in rules)
    assert len(rules) == len(_rule_queries())
    assert {rule["name"]: rule["health"] for rule in rules} == {rule["name"]: "ok" for rule in rules}
