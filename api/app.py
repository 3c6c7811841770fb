"""The admin and analytics API: tenants, auth, keys, meters, plans, subscriptions, usage, invoices.

`create_app(settings)` builds the app (the lifespan owns the PostgreSQL engine and,
once built, the usage reader); `run(settings)` serves it with uvicorn. OpenAPI docs
are at /docs.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from meterline.bootstrap import pg_engine
from meterline.settings import Settings

from .api_keys.router import router as api_keys_router
from .errors import install_error_handlers
from .invoices.router import router as invoices_router
from .meters.router import router as meters_router
from .notifications.router import router as notifications_router
from .plans.router import router as plans_router
from .rate_limits import RATE_LIMITED_RESPONSE, install_rate_limit_handler
from .sessions.router import router as sessions_router
from .subscriptions.router import router as subscriptions_router
from .tenants.router import router as tenants_router
from .stream_health.router import router as stream_health_router
from .usage.router import router as usage_router
from .webhooks import router as webhooks_router

__all__ = ["create_app", "run"]

_ROUTERS = (tenants_router, sessions_router, api_keys_router, meters_router, plans_router, subscriptions_router,
            usage_router, invoices_router, stream_health_router, webhooks_router, notifications_router)
# Routers whose routes act for a tenant's user: each request counts against the tenant's
# and the user's quota (api/rate_limits.py), so each may answer 429.
_QUOTA_ROUTERS = (api_keys_router, meters_router, plans_router, subscriptions_router, usage_router,
                  invoices_router, stream_health_router, notifications_router)


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

    app = FastAPI(
        title="Meterline admin API",
        version="0.1.0",
        summary="Register tenants, manage keys, meters and subscriptions; read usage and invoices.",
        description="Every tenant-scoped route acts on the tenant of the bearer access token, never on a "
                    "tenant named in the request.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_rate_limit_handler(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for router in _ROUTERS:
        app.include_router(router, responses=RATE_LIMITED_RESPONSE if router in _QUOTA_ROUTERS else None)
    return app


def run(settings: Settings) -> None:
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.api.host, port=settings.api.port, log_level="info")
