"""Requests to the admin API by method, route template and status, and their latency.

Labelled by the route's template (`/v1/meters/{slug}`), never the path: one series per
route whatever the ids in it. Requests no route matched share `route="unmatched"`.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["RequestMetrics", "metrics_registry"]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("meterline_api_requests", "Admin API requests by method, route template and status",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("meterline_api_request_duration_seconds",
                                 "Admin API request latency by method and route template", ["method", "route"],
                                 buckets=_LATENCY_BUCKETS, registry=registry)


def metrics_registry() -> tuple[CollectorRegistry, _HttpMetrics]:
    """A registry of the app's own (not the process-global one: tests build several apps)."""
    registry = CollectorRegistry(auto_describe=True)
    return registry, _HttpMetrics(registry)


class RequestMetrics:
    """ASGI middleware, outermost: it sees the status of every answer, an unexpected 500 too.
    FastAPI's router records the matched route in the scope, which this layer shares."""

    def __init__(self, app, metrics: _HttpMetrics) -> None:
        self.app = app
        self._metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            self._metrics.requests.labels(method, route, str(status)).inc()
            self._metrics.latency.labels(method, route).observe(time.perf_counter() - started)
