"""The admin and analytics API: tenants, auth, keys, meters, plans, subscriptions, usage, invoices.

`create_app(settings)` builds the app (the lifespan owns the PostgreSQL engine and,
once built, the usage reader); `run(settings)` serves it with uvicorn. OpenAPI docs
are at /docs and /openapi.json unless settings.api.docs_enabled is off.

Every answer passes through api/http_guards.py: security headers (outermost, so even an
unexpected 500 carries them), CORS for the configured origins only, and the body limit.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware

from meterline.bootstrap import pg_engine
from meterline.settings import Settings

from .api_keys.router import router as api_keys_router
from .docs import install_docs
from .errors import error_responses, install_error_handlers
from .http_guards import BodySizeLimit, SecurityHeaders
from .invoices.router import router as invoices_router
from .meters.router import router as meters_router
from .notifications.router import router as notifications_router
from .plans.router import router as plans_router
from .sessions.router import router as sessions_router
from .subscriptions.router import router as subscriptions_router
from .tenants.router import router as tenants_router
from .stream_health.router import router as stream_health_router
from .usage.router import router as usage_router
from .webhooks import router as webhooks_router

__all__ = ["create_app", "run"]

_ROUTERS = (tenants_router, sessions_router, api_keys_router, meters_router, plans_router, subscriptions_router,
            usage_router, invoices_router, stream_health_router, webhooks_router, notifications_router)
# What any route may answer, whatever it does: its body over the limit, a parameter or
# body field invalid, or the caller over a rate limit. Each router declares the rest.
_ANY_ROUTE = error_responses(413, 422, 429)
_DOCS_URL, _OPENAPI_URL = "/docs", "/openapi.json"


class _AdminApi(FastAPI):
    def build_middleware_stack(self):  # type: ignore[no-untyped-def]
        # Outside Starlette's ServerErrorMiddleware, which answers unexpected errors itself
        # and so would bypass any middleware added the usual way.
        return SecurityHeaders(super().build_middleware_stack())


def _middleware(settings: Settings) -> list[Middleware]:
    layers = []
    if settings.api.cors_origins:
        # Bearer tokens, no cookies: credentials stay off, so no origin can ride a session.
        layers.append(Middleware(CORSMiddleware, allow_origins=settings.api.cors_origins,
                                 allow_methods=["GET", "POST", "PUT", "DELETE"],
                                 allow_headers=["Authorization", "Content-Type"], expose_headers=["Retry-After"],
                                 allow_credentials=False, max_age=600))
    layers.append(Middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes))
    return layers


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = pg_engine(settings)
        app.state.usage_reader = None
        try:
            yield
        finally:
            reader = app.state.usage_reader
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
        middleware=_middleware(settings),
        docs_url=None,
        redoc_url=None,
        openapi_url=_OPENAPI_URL if settings.api.docs_enabled else None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    if settings.api.docs_enabled:
        install_docs(app, _DOCS_URL, _OPENAPI_URL)

    @app.get("/healthz", tags=["health"], responses=error_responses(413, 429))
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for router in _ROUTERS:
        # Logging in (api/sessions) also answers an unreadable body and wrong credentials.
        extra = error_responses(400, (401, "Wrong email or password")) if router is sessions_router else {}
        app.include_router(router, responses={**_ANY_ROUTE, **extra})
    return app


def run(settings: Settings) -> None:
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.api.host, port=settings.api.port, log_level="info")
