"""The flows' log lines in JSON (flows/logging.yml, which `meterline serve flows` gives
Prefect and so every flow run process it starts): the trace id of a flow run's lines is
the flow run's id, so one grep finds a run's whole log across processes."""

from __future__ import annotations

import logging

__all__ = ["FlowRunTraceFilter"]


class FlowRunTraceFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None) is None:
            record.trace_id = getattr(record, "flow_run_id", None) or _current_flow_run_id()
        return True


def _current_flow_run_id() -> str | None:
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run = getattr(context, "flow_run", None)
    return str(run.id) if run is not None else None
