"""The admin API's /metrics in process: requests by route template and status, and the
operations figures from a snapshot (sources answering or not, the snapshot's ttl)."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import OperationsCollector, OperationsSnapshot, OperationsSource, operations_families
from flows.reconcile import DIFFERENCES_ARTIFACT
from api.metrics.operations import RECONCILE_ARTIFACT
from meterline.bootstrap import api_app
from meterline.settings import Settings


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_requests_are_counted_by_route_template_and_status():
    async def go() -> str:
        transport = httpx.ASGITransport(app=api_app(Settings()))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/v1/invoices/INV-1")).status_code == 401
            assert (await client.get("/v1/invoices/INV-2")).status_code == 401
            assert (await client.get("/v1/no/such/route")).status_code == 404  # /v1 is the API's, never the web app's
            return (await client.get("/metrics")).text

    samples = _samples(asyncio.run(go()))
    count = "meterline_api_requests_total"
    assert samples[(count, (("method", "GET"), ("route", "/healthz"), ("status", "200")))] == 1
    assert samples[(count, (("method", "GET"), ("route", "/v1/invoices/{number}"), ("status", "401")))] == 2
    assert samples[(count, (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert samples[("meterline_api_request_duration_seconds_count",
                    (("method", "GET"), ("route", "/v1/invoices/{number}")))] == 2
    assert not any("INV-1" in str(labels) for _, labels in samples)


def test_operations_families_from_a_snapshot():
    snapshot = OperationsSnapshot(
        flow_runs={("generate-invoices", "COMPLETED"): 3, ("generate-invoices", "FAILED"): 1},
        last_success={"generate-invoices": 1_700_000_000.0},
        invoices={"USD": (4, 123_456), "EUR": (1, 999)},
        reconcile_rows=[{"store": "postgres", "period": "open"}, {"store": "postgres", "period": "open"},
                        {"store": "rollup", "period": "closed"}],
        reconcile_at=1_700_000_100.0, sources_up={"prefect": True, "postgres": True})
    registry = CollectorRegistry()
    registry.register(_Fixed(snapshot))
    samples = _samples(generate_latest(registry).decode())
    assert samples[("meterline_flow_runs_total", (("flow", "generate-invoices"), ("state", "failed")))] == 1
    assert samples[("meterline_flow_runs_total", (("flow", "generate-invoices"), ("state", "completed")))] == 3
    assert samples[("meterline_flow_last_success_timestamp_seconds", (("flow", "generate-invoices"),))] == 1.7e9
    assert samples[("meterline_invoices_issued_minor_units_total", (("currency", "usd"),))] == 123_456
    assert samples[("meterline_invoices_issued_total", (("currency", "eur"),))] == 1
    assert samples[("meterline_reconcile_differences", (("period", "open"), ("store", "postgres")))] == 2
    assert samples[("meterline_reconcile_differences", (("period", "closed"), ("store", "rollup")))] == 1
    assert samples[("meterline_reconcile_differences", (("period", "open"), ("store", "rollup")))] == 0
    assert samples[("meterline_operations_source_up", (("source", "prefect"),))] == 1


class _Fixed:
    def __init__(self, snapshot: OperationsSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self):
        yield from operations_families(self.snapshot)


def test_a_source_that_does_not_answer_is_reported_down_and_its_series_left_out():
    calls = []

    async def runs():
        calls.append("runs")
        raise OSError("prefect unreachable")

    async def artifact(key):
        return None

    async def invoices():
        calls.append("invoices")
        return {"USD": (1, 500)}

    source = OperationsSource(runs, artifact, invoices, ttl_s=60)

    async def twice():
        await source.refresh()
        await source.refresh()  # within the ttl: not read again

    asyncio.run(twice())
    assert calls == ["runs", "invoices"]
    registry = CollectorRegistry()
    registry.register(OperationsCollector(source))
    samples = _samples(generate_latest(registry).decode())
    assert samples[("meterline_operations_source_up", (("source", "prefect"),))] == 0
    assert samples[("meterline_operations_source_up", (("source", "postgres"),))] == 1
    assert not any(name.startswith("meterline_flow_runs") for name, _ in samples)
    assert samples[("meterline_invoices_issued_minor_units_total", (("currency", "usd"),))] == 500


def test_the_artifact_key_is_the_one_the_flow_writes():
    assert RECONCILE_ARTIFACT == DIFFERENCES_ARTIFACT


def test_every_answer_names_the_requests_trace_id():
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    async def go():
        transport = httpx.ASGITransport(app=api_app(Settings()))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            return (await client.get("/healthz", headers={"traceparent": parent}),
                    await client.get("/v1/invoices/x", headers={"X-Request-ID": "req-42"}),
                    await client.get("/healthz"))

    traced, asked, made = asyncio.run(go())
    assert traced.headers["x-request-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert asked.status_code == 401 and asked.headers["x-request-id"] == "req-42"
    assert len(made.headers["x-request-id"]) == 32
