"""infra/helm/meterline with the real Helm v4 (built by `go install`, see tests/support/tools.py):
`helm lint`, `helm template`, and the rendered manifests run every service of the embedded
stack, point at every external service the embedded stack stands in for, probe each
service's health endpoint and keep stream workers within the partition count."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from infra.services import SERVICE_NAMES
from infra.stack import _STARTERS
from tests.support.tools import helm_binary

pytestmark = pytest.mark.integration

CHART = Path(__file__).resolve().parents[2] / "infra" / "helm" / "meterline"

# Embedded infra service -> the setting that points Meterline at the external one instead.
EXTERNAL_SETTINGS = {
    "kafka": "METERLINE_KAFKA__BOOTSTRAP_SERVERS",
    "postgres": "METERLINE_POSTGRES__URL",
    "clickhouse": "METERLINE_CLICKHOUSE__URL",
    "stripe": "METERLINE_STRIPE__API_BASE",
    "prefect": "METERLINE_PREFECT__API_URL",
}
# Settings holding a password or key: from the Kubernetes Secret, never a plain value.
SECRET_SETTINGS = {"METERLINE_POSTGRES__URL", "METERLINE_CLICKHOUSE__URL", "METERLINE_STRIPE__API_KEY",
                   "METERLINE_STRIPE__WEBHOOK_SECRET", "METERLINE_JWT__SECRET", "METERLINE_API__OPERATOR_TOKEN"}
# Each service's health endpoint in the code (ingest/routes.py, api/app.py, Prefect's runner).
HTTP_PROBES = {"ingest": ("/readyz", "/healthz"), "api": ("/healthz", "/healthz"), "flows": ("/health", "/health")}


@pytest.fixture(scope="module")
def helm() -> str:
    return str(helm_binary())


def _helm(helm: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([helm, *args], capture_output=True, text=True, timeout=120)


def _render(helm: str, *sets: str) -> list[dict]:
    result = _helm(helm, "template", "meterline", str(CHART), *[arg for s in sets for arg in ("--set", s)])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _workloads(manifests: list[dict]) -> dict[str, dict]:
    """Container spec of each Deployment and Job, by the command it runs."""
    found = {}
    for doc in manifests:
        if doc["kind"] in ("Deployment", "Job"):
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            found[" ".join(container["command"])] = container
    return found


def test_chart_lints(helm):
    result = _helm(helm, "lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_every_embedded_service_has_its_counterpart(helm):
    workloads = _workloads(_render(helm))
    expected = {f"meterline serve {name}" for name in (*SERVICE_NAMES, "flows")} | {"meterline migrate"}
    assert set(workloads) == expected
    assert {name for name, _ in _STARTERS} == set(EXTERNAL_SETTINGS)
    for command, container in workloads.items():
        env = {item["name"]: item for item in container["env"]}
        for setting in EXTERNAL_SETTINGS.values():
            assert setting in env, f"{command}: {setting} missing"
        for setting in SECRET_SETTINGS:
            assert "secretKeyRef" in env[setting].get("valueFrom", {}), f"{command}: {setting} is not from the Secret"
        assert env["METERLINE_ENVIRONMENT"]["value"] == "production"


def test_services_have_probes_on_their_health_endpoints_and_resource_requests(helm):
    workloads = _workloads(_render(helm))
    for command, container in workloads.items():
        assert container["resources"]["requests"], command
        if command == "meterline migrate":
            continue
        service = command.split()[-1]
        if service in HTTP_PROBES:
            ready, live = HTTP_PROBES[service]
            assert container["readinessProbe"]["httpGet"]["path"] == ready, command
            assert container["livenessProbe"]["httpGet"]["path"] == live, command
        else:  # the stream worker's web server listens on loopback only: probed from inside
            for probe in ("readinessProbe", "livenessProbe"):
                assert "/healthz" in " ".join(container[probe]["exec"]["command"]), command


def test_migrations_run_as_a_hook_job_before_install_and_upgrade(helm):
    (job,) = [doc for doc in _render(helm) if doc["kind"] == "Job"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"


def test_ingest_autoscales(helm):
    hpas = {doc["spec"]["scaleTargetRef"]["name"]: doc for doc in _render(helm) if doc["kind"] == "HorizontalPodAutoscaler"}
    assert set(hpas) == {"meterline-ingest"}
    assert hpas["meterline-ingest"]["spec"]["maxReplicas"] > hpas["meterline-ingest"]["spec"]["minReplicas"]


def test_stream_workers_are_bounded_by_the_partition_count(helm):
    manifests = _render(helm, "kafka.eventsPartitions=12", "stream.autoscaling.enabled=true")
    (stream_hpa,) = [doc for doc in manifests if doc["kind"] == "HorizontalPodAutoscaler"
                     and doc["spec"]["scaleTargetRef"]["name"] == "meterline-stream"]
    assert stream_hpa["spec"]["maxReplicas"] == 12

    too_many = _helm(helm, "template", "meterline", str(CHART), "--set", "kafka.eventsPartitions=6",
                     "--set", "stream.replicas=7")
    assert too_many.returncode != 0
    assert "stream.replicas (7) exceeds kafka.eventsPartitions (6)" in too_many.stderr
