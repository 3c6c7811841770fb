"""infra/docker-compose.yml must offer every service the embedded stack runs, with the same settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.services import SERVICE_NAMES
from infra.stack import _STARTERS

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[2] / "infra" / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]

# Embedded service -> (compose service, the setting that points Meterline at it)
COUNTERPARTS = {
    "kafka": ("kafka", "METERLINE_KAFKA__BOOTSTRAP_SERVERS"),
    "postgres": ("postgres", "METERLINE_POSTGRES__URL"),
    "clickhouse": ("clickhouse", "METERLINE_CLICKHOUSE__URL"),
    "stripe": ("localstripe", "METERLINE_STRIPE__API_BASE"),
    "prefect": ("prefect", "METERLINE_PREFECT__API_URL"),
}


def test_every_embedded_infra_service_has_a_compose_counterpart():
    assert {name for name, _ in _STARTERS} == set(COUNTERPARTS)


@pytest.mark.parametrize("embedded", sorted(COUNTERPARTS), ids=sorted(COUNTERPARTS))
def test_compose_service_and_setting(embedded):
    compose_name, setting = COUNTERPARTS[embedded]
    assert compose_name in SERVICES
    host = compose_name
    for service in SERVICE_NAMES:
        env = SERVICES[service]["environment"]
        assert host in env[setting], f"{service}: {setting} does not point at {host}"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_meterline_services_run_the_same_cli(service):
    assert SERVICES[service]["command"] == f"meterline serve {service}"


def test_setting_names_exist_in_settings():
    from meterline.settings import Settings

    for _, setting in COUNTERPARTS.values():
        section, field = setting.removeprefix("METERLINE_").lower().split("__")
        assert field in type(getattr(Settings(), section)).model_fields, setting
