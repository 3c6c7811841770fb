"""docker-compose's Prometheus and Grafana get infra/monitoring/, and each scrape target is a
compose service on the port its settings default to."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from meterline.settings import ApiSettings, IngestSettings, StreamSettings

INFRA = Path(__file__).resolve().parents[2] / "infra"
COMPOSE = yaml.safe_load((INFRA / "docker-compose.yml").read_text())["services"]
PROMETHEUS = yaml.safe_load((INFRA / "monitoring" / "prometheus.yml").read_text())


def _mounts(service: str) -> dict[str, str]:
    return {container: host for host, container, *_ in (v.split(":") for v in COMPOSE[service]["volumes"])}


def test_prometheus_and_grafana_mount_the_monitoring_files():
    prometheus, grafana = _mounts("prometheus"), _mounts("grafana")
    assert prometheus["/etc/prometheus/prometheus.yml"] == "./monitoring/prometheus.yml"
    assert prometheus["/etc/prometheus/rules"] == "./monitoring/rules"
    assert grafana["/etc/grafana/provisioning"] == "./monitoring/grafana/provisioning"
    provider = yaml.safe_load((INFRA / "monitoring/grafana/provisioning/dashboards/meterline.yml").read_text())
    assert grafana[provider["providers"][0]["options"]["path"]] == "./monitoring/grafana/dashboards"


def test_each_scrape_target_is_a_compose_service_on_its_default_port():
    # The sections' own defaults (not Settings(), which reads this machine's METERLINE_* ports).
    ports = {"ingest": IngestSettings().port, "stream": StreamSettings().web_port, "api": ApiSettings().port}
    for job in PROMETHEUS["scrape_configs"]:
        (target,) = job["static_configs"][0]["targets"]
        host, port = target.split(":")
        assert host in COMPOSE, job["job_name"]
        assert int(port) == ports[job["job_name"]], job["job_name"]


def test_dashboard_panels_use_the_provisioned_datasource():
    datasource = yaml.safe_load((INFRA / "monitoring/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    dashboard = json.loads((INFRA / "monitoring/grafana/dashboards/meterline.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert all(target["datasource"]["uid"] == uid for target in panel["targets"]), panel["title"]
