"""infra/monitoring/ checked by Prometheus' own promtool: the configuration, the alert rules,
and each alert's unit test on synthetic series (rules/*.test.yml)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.tools import prometheus_binaries

pytestmark = pytest.mark.integration

MONITORING = Path(__file__).resolve().parents[2] / "infra" / "monitoring"
RULES = MONITORING / "rules" / "meterline.rules.yml"
RULE_TESTS = sorted((MONITORING / "rules").glob("*.test.yml"))


@pytest.fixture(scope="module")
def promtool() -> str:
    return prometheus_binaries()[1]


def _promtool(promtool: str, *args: str) -> str:
    result = subprocess.run([promtool, *args], capture_output=True, text=True, cwd=MONITORING, timeout=300)
    assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def test_scrape_configuration_is_valid(promtool):
    assert "SUCCESS" in _promtool(promtool, "check", "config", "prometheus.yml")


def test_alert_rules_are_valid(promtool):
    count = sum(len(group["rules"]) for group in yaml.safe_load(RULES.read_text())["groups"])
    assert f"SUCCESS: {count} rules found" in _promtool(promtool, "check", "rules", str(RULES))


def test_every_alert_has_a_unit_test():
    alerts = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    tested = {case["alertname"] for path in RULE_TESTS for test in yaml.safe_load(path.read_text())["tests"]
              for case in test.get("alert_rule_test", [])}
    assert alerts == tested


def test_alert_unit_tests_pass(promtool):
    out = _promtool(promtool, "test", "rules", *map(str, RULE_TESTS))
    assert out.count("SUCCESS") == len(RULE_TESTS)
