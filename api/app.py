"""The admin and analytics API: tenants, auth, keys, meters, plans, subscriptions, usage, invoices.

`create_app(wiring)` builds the app from what the composition root hands it
(api/wiring.py; meterline.bootstrap.api_app builds both); the lifespan owns the
PostgreSQL engine and, once built, the usage reader. `run` serves it with uvicorn.
OpenAPI docs are at /docs.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from meterline.settings import ApiSettings

from .analytics.router import router as analytics_router
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
from .usage.query_router import router as usage_query_router
from .events_view.router import router as events_view_router
from .wiring import ApiWiring
from .webhooks import router as webhooks_router

__all__ = ["create_app", "run"]

_ROUTERS = (tenants_router, sessions_router, api_keys_router, meters_router, plans_router, subscriptions_router,
            usage_router, usage_query_router, events_view_router, invoices_router, stream_health_router,
            webhooks_router, notifications_router, analytics_router)
# Routers whose routes act for a tenant's user: each request counts against the tenant's
# and the user's quota (api/rate_limits.py), so each may answer 429.
_QUOTA_ROUTERS = (api_keys_router, meters_router, plans_router, subscriptions_router, usage_router,
                  usage_query_router, events_view_router, invoices_router, stream_health_router, notifications_router)


def create_app(wiring: ApiWiring) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.wiring = wiring
        app.state.engine = wiring.open_postgres()
        app.state.usage_reader = None
        try:
            yield
        finally:
            for name in ("usage_reader", "watermark_source"):
                reader = getattr(app.state, name, None)
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
    app.state.wiring = wiring
    install_error_handlers(app)
    install_rate_limit_handler(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for router in _ROUTERS:
        app.include_router(router, responses=RATE_LIMITED_RESPONSE if router in _QUOTA_ROUTERS else None)
    return app


def run(api: ApiSettings, app: FastAPI) -> None:
    import uvicorn

    uvicorn.run(app, host=api.host, port=api.port, log_level="info")
