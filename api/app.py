"""The admin and analytics API: tenants, auth, keys, meters, plans, subscriptions, usage, invoices.

`create_app(wiring)` builds the app from what the composition root hands it
(api/wiring.py; meterline.bootstrap.api_app builds both); the lifespan owns the
PostgreSQL engine and, once built, the usage readers. `run` serves it with uvicorn.
OpenAPI docs are at /docs and /openapi.json unless the api section's docs_enabled is off.

Every answer passes through api/http_guards.py: security headers (outermost, so even an
unexpected 500 carries them), CORS for the configured origins only, and the body limit.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware import Middleware

from meterline.settings import ApiSettings

from .analytics.pipeline import router as pipeline_router
from .analytics.router import router as analytics_router
from .invoice_runs.router import router as invoice_runs_router
from .api_keys.router import router as api_keys_router
from .corrections.router import router as corrections_router
from .audit.router import router as audit_router
from .docs import install_docs
from .errors import error_responses, install_error_handlers
from .events_view.router import router as events_view_router
from .http_guards import BodySizeLimit, SecurityHeaders
from .invoices.router import router as invoices_router
from .meters.router import router as meters_router
from .metrics import OperationsCollector, RequestMetrics, metrics_registry
from .notifications.router import router as notifications_router
from .operators.accounts_router import router as operator_accounts_router
from .operators.tenants_router import router as operator_tenants_router
from .payments.router import router as payments_router
from .plans.router import router as plans_router
from .rate_limits import install_rate_limit_handler
from .request_trace import RequestTrace
from .sessions.router import router as sessions_router
from .stream_health.router import router as stream_health_router
from .subscriptions.operator_router import router as operator_subscriptions_router
from .subscriptions.router import router as subscriptions_router
from .tenant_lifecycle.router import router as tenant_lifecycle_router
from .tenants.router import router as tenants_router
from .usage.query_router import router as usage_query_router
from .usage.router import router as usage_router
from .users.router import invitation_router
from .users.router import router as users_router
from .web_app import WebApp
from .webhooks import router as webhooks_router
from .wiring import ApiWiring

__all__ = ["create_app", "run"]

_ROUTERS = (tenants_router, sessions_router, api_keys_router, meters_router, plans_router, subscriptions_router,
            usage_router, usage_query_router, events_view_router, invoices_router, stream_health_router,
            webhooks_router, notifications_router, analytics_router, tenant_lifecycle_router,
            operator_accounts_router, operator_tenants_router, operator_subscriptions_router,
            payments_router, corrections_router, users_router, invitation_router, audit_router,
            invoice_runs_router, pipeline_router)
# What any route may answer, whatever it does: its body over the limit, a parameter or
# body field invalid, or the caller over a rate limit (login, registration, request
# quotas: api/rate_limits.py). Each router declares the rest.
_ANY_ROUTE = error_responses(413, 422, 429)
_DOCS_URL, _OPENAPI_URL = "/docs", "/openapi.json"


class _AdminApi(FastAPI):
    web: WebApp | None = None

    def build_middleware_stack(self):  # type: ignore[no-untyped-def]
        # Outside Starlette's ServerErrorMiddleware, which answers unexpected errors itself
        # and so would bypass any middleware added the usual way. The web app sits inside
        # the security headers (its own CSP is kept) and in front of the API's routing; the
        # request metrics outermost, so they count every answer.
        inner = super().build_middleware_stack()
        if self.web is not None:
            inner = self.web.in_front_of(inner)
        return RequestMetrics(RequestTrace(SecurityHeaders(inner)), self.state.http_metrics)


def _middleware(api: ApiSettings) -> list[Middleware]:
    layers = []
    if api.cors_origins:
        # Bearer tokens, no cookies: credentials stay off, so no origin can ride a session.
        layers.append(Middleware(CORSMiddleware, allow_origins=api.cors_origins,
                                 allow_methods=["GET", "POST", "PUT", "DELETE"],
                                 allow_headers=["Authorization", "Content-Type"], expose_headers=["Retry-After"],
                                 allow_credentials=False, max_age=600))
    layers.append(Middleware(BodySizeLimit, max_bytes=api.max_body_bytes))
    return layers


def create_app(wiring: ApiWiring) -> FastAPI:
    api = wiring.limits

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.wiring = wiring
        app.state.engine = wiring.open_postgres()
        app.state.usage_reader = None
        opener = wiring.open_operations_source
        app.state.operations = opener(app.state.engine) if opener else None
        if app.state.operations is not None:
            app.state.metrics_registry.register(OperationsCollector(app.state.operations))
        try:
            yield
        finally:
            for name in ("usage_reader", "fine_usage_reader", "watermark_source", "operations"):
                reader = getattr(app.state, name, None)
                close = getattr(reader, "aclose", None) or getattr(reader, "close", None)
                if close is not None:
                    result = close()
                    if inspect.isawaitable(result):
                        await result
            await app.state.engine.dispose()

    app = _AdminApi(
        title="Meterline admin API",
        version="0.1.0",
        summary="Register tenants, manage keys, meters and subscriptions; read usage and invoices.",
        description="Every tenant-scoped route acts on the tenant of the bearer access token, never on a "
                    "tenant named in the request.",
        lifespan=lifespan,
        middleware=_middleware(api),
        docs_url=None,
        redoc_url=None,
        openapi_url=_OPENAPI_URL if api.docs_enabled else None,
    )
    app.state.wiring = wiring
    app.state.metrics_registry, app.state.http_metrics = metrics_registry()
    app.web = wiring.web
    install_error_handlers(app)
    install_rate_limit_handler(app)
    if api.docs_enabled:
        install_docs(app, _DOCS_URL, _OPENAPI_URL)

    _install_health_and_metrics(app)
    for router in _ROUTERS:
        # Logging in (api/sessions) also answers an unreadable body and wrong credentials.
        extra = error_responses(400, (401, "Wrong email or password")) if router is sessions_router else {}
        app.include_router(router, responses={**_ANY_ROUTE, **extra})
    return app


def _install_health_and_metrics(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], responses=error_responses(413, 429))
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus' text format: this app's requests, and the platform's operations
        (api/metrics/operations.py), read at most once per its ttl."""
        if getattr(app.state, "operations", None) is not None:
            await app.state.operations.refresh()
        return Response(generate_latest(app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


def run(api: ApiSettings, app: FastAPI) -> None:
    import uvicorn

    from meterline.logs import logging_config

    uvicorn.run(app, host=api.host, port=api.port, log_level="info", log_config=logging_config("api"))
