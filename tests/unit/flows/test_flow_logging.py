"""flows/logging.yml, as `meterline serve flows` hands it to Prefect: JSON lines, each with
the flow run's id as its trace id."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from flows.log_context import FlowRunTraceFilter

CONFIG = Path(__file__).resolve().parents[3] / "flows" / "logging.yml"


def test_prefect_configured_with_it_logs_json_lines(tmp_path):
    # setup_logging: what Prefect's entry points (serve, a flow run's process) call first.
    code = ("import logging; from prefect.logging.configuration import setup_logging; setup_logging(); "
            "logging.getLogger('flows.reconcile').warning('usage differs', "
            "extra={'flow_run_id': 'run-1'}); logging.getLogger('prefect.test').warning('from prefect')")
    env = {**os.environ, "PREFECT_LOGGING_CONFIG_PATH": str(CONFIG), "PREFECT_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert [(line["service"], line["logger"], line["message"], line["trace_id"]) for line in lines] == [
        ("flows", "flows.reconcile", "usage differs", "run-1"), ("flows", "prefect.test", "from prefect", None)]


def test_the_filter_keeps_a_given_trace_id_and_takes_the_flow_runs_otherwise():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.trace_id = "given"
    assert FlowRunTraceFilter().filter(record) and record.trace_id == "given"
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert FlowRunTraceFilter().filter(outside) and outside.trace_id is None
