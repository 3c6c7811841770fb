"""The ingest service: ``create_app`` for one server process, ``run`` to serve (both wired by meterline/bootstrap.py).

Design (issue 3):

- A request is rejected whole when any of its events is invalid (422 naming each bad
  event's index, field and reason; nothing is produced). Clients resend the corrected
  request as a whole; event ids make every resend idempotent.
- 202 ``{"accepted": N, "duplicates_in_request": M}`` only after Kafka acknowledged every
  record (idempotent producer, acks=all); 503 with ``Retry-After`` otherwise. A 503 may
  still leave some of the request's records in the topic: the client's retry repeats
  the same ids and the stream drops the repeats.
- Records are packs of one tenant's events that share a partition: each event goes where
  Kafka's default partitioner puts the tenant's key (see ``ingest.packing``), and
  concurrent requests of a tenant share packs (``ingest.coalescing``).
- ``POST /v1/events`` is served outside FastAPI: natively on granian's RSGI interface
  (``ingest.rsgi``, what ``run`` serves) or as a bare ASGI endpoint (``ingest.events``,
  for ASGI servers and the tests).
- Memory is bounded by ``max_in_flight_requests`` and ``max_in_flight_bytes``; beyond
  them the answer is 503 at once. Per-tenant token buckets answer 429.

Several server processes (``settings.ingest.workers``) each take an equal share of the
tenant rate limit, since the kernel spreads connections evenly over them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncio
import functools
import gc
import logging
import os
import shutil
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from meterline.logs import logging_config
from meterline.settings import IngestSettings, KafkaSettings

from .admission import InFlightBudget
from .auth import KeyCache
from .coalescing import RecordCoalescer
from .errors import FieldError, IngestError
from .meter_blocks import MeterBlocks
from .meter_rules import MeterRuleCache
from .metrics import IngestMetrics
from .events import IngestContext, events_endpoint
from .producer import EventProducer
from .rate_limit import TenantRateLimiter
from .routes import error_response, router
from .schemas import Limits

if TYPE_CHECKING:  # only annotated here: ingest reads PostgreSQL through warehouse/
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["create_app", "run", "worker_processes"]

log = logging.getLogger(__name__)

_SHARE_ENV = "_METERLINE_INGEST_PROCESSES"


class _FrontDoor:
    """``POST /v1/events`` straight to its bare ASGI endpoint, everything else to FastAPI.

    The hot path skips FastAPI's middleware and routing (see ``ingest.events``); the
    lifespan, ``app.state`` and every other route stay FastAPI's.
    """

    def __init__(self, app: FastAPI):
        self.app = app
        self.state = app.state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/events" and scope["method"] == "POST":
            await events_endpoint(self.state.ingest, scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(ingest: IngestSettings, kafka: KafkaSettings, open_engine: Callable[[], AsyncEngine],
               processes: int = 1) -> _FrontDoor:
    """The app of one server process; `open_engine` (from the composition root) is called in its lifespan."""
    metrics = IngestMetrics()
    app = FastAPI(title="Meterline ingest", version="1",
                  lifespan=functools.partial(_lifespan, ingest, kafka, open_engine, processes, metrics))
    app.include_router(router)
    _add_error_handlers(app)
    return _FrontDoor(app)


@asynccontextmanager
async def _lifespan(ingest: IngestSettings, kafka: KafkaSettings, open_engine: Callable[[], AsyncEngine],
                    processes: int, metrics: IngestMetrics, app: FastAPI):
    engine = open_engine()
    producer = EventProducer(kafka, ingest, on_error=metrics.producer_error)
    await producer.start()
    coalescer = RecordCoalescer(producer, ingest.max_pack_events, ingest.max_pack_bytes, ingest.produce_timeout_s)
    coalescer.start()
    budget = InFlightBudget(ingest.max_in_flight_requests, ingest.max_in_flight_bytes)
    app.state.ingest = IngestContext(
        settings=ingest,
        limits=Limits.from_settings(ingest),
        keys=KeyCache(engine, ingest.api_key_cache_ttl_s),
        producer=producer,
        rate_limiter=TenantRateLimiter(ingest.rate_limit_events_per_s / processes,
                                       max(1.0, ingest.rate_limit_burst / processes), time.monotonic),
        budget=budget,
        metrics=metrics,
        coalescer=coalescer,
        meter_blocks=MeterBlocks(engine, ingest.meter_block_cache_ttl_s),
        # A meter change is seen as soon as a block is: one TTL for "what the meters say"
        meter_rules=MeterRuleCache(engine, ingest.meter_block_cache_ttl_s),
    )
    publisher = asyncio.create_task(_publish_metrics(budget, metrics, ingest.metrics_flush_s))
    # What start-up allocated (FastAPI, SQLAlchemy, pydantic, aiokafka) lives as long as the
    # process: out of the collector's sight, full collections no longer walk it.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        publisher.cancel()
        await coalescer.close()
        await producer.stop()
        metrics.flush()
        await engine.dispose()


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IngestError)
    async def _ingest_error(request: Request, exc: IngestError):
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(IngestError(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        details = [FieldError(None, ".".join(str(p) for p in e.get("loc", ())), e.get("msg", "")) for e in exc.errors()]
        return error_response(IngestError(422, "invalid_request", "the request is invalid", details))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return error_response(IngestError(500, "internal_error", "an unexpected error occurred"))


async def _publish_metrics(budget: InFlightBudget, metrics: IngestMetrics, every_s: float) -> None:
    """Publishes this process's tallies and in-flight gauges every ``every_s`` (``/metrics`` also at once)."""
    while True:
        metrics.set_in_flight(budget.requests, budget.bytes)
        metrics.flush()
        await asyncio.sleep(every_s)


def worker_processes() -> int:
    """How many server processes share the tenant rate limit (set by `run` for its workers)."""
    return int(os.environ.get(_SHARE_ENV, "1"))


def run(ingest: IngestSettings, metrics_dir: Path, asgi_factory: str, rsgi_factory: str) -> None:
    """Serve on ``ingest.host:port`` with ``ingest.workers`` processes.

    Each worker process builds its app by calling a factory named "module:function": the
    composition root's, which rebuilds the settings there (``rsgi_factory`` for granian,
    ``asgi_factory`` for uvicorn). Metrics are aggregated through ``metrics_dir``.
    """
    workers = max(1, ingest.workers)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    os.environ[_SHARE_ENV] = str(workers)
    if ingest.server == "uvicorn":
        _run_uvicorn(ingest, workers, asgi_factory)
    else:
        _run_granian(ingest, workers, rsgi_factory)


def _run_granian(ingest: IngestSettings, workers: int, factory: str) -> None:
    import multiprocessing

    from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes
    from granian.log import LogLevels
    from granian.server import Server

    # Spawned, not forked: a forked worker would inherit this process's prometheus-client,
    # imported before PROMETHEUS_MULTIPROC_DIR was set, and keep its values in memory only.
    multiprocessing.set_start_method("spawn", force=True)
    Server(factory, factory=True, address=ingest.host, port=ingest.port,
           interface=Interfaces.RSGI, workers=workers, loop=Loops.uvloop, http=HTTPModes.http1,
           runtime_mode=RuntimeModes.st, runtime_threads=1, websockets=False, backlog=4096,
           # Granian's backpressure caps the *connections* a worker accepts, idle keep-alive
           # ones included: at its default (backlog / workers) a client fleet holding a few
           # thousand connections starved every new request for ~30 s. Load is bounded by
           # ingest's own in-flight limits (503) instead.
           backpressure=ingest.max_connections_per_process,
           log_level=LogLevels.warning, log_access=False, log_dictconfig=logging_config("ingest")).serve()


def _run_uvicorn(ingest: IngestSettings, workers: int, factory: str) -> None:
    import uvicorn

    # uvloop and httptools, not asyncio's selector loop and h11: h11's pure-Python parsing
    # alone was a third of a worker's CPU at 2,000 single-event requests/s.
    # No proxy headers: ingest never reads the client address, and the middleware is per request.
    uvicorn.run(factory, factory=True, workers=workers, host=ingest.host, port=ingest.port,
                loop="uvloop", http="httptools", proxy_headers=False, log_level="warning", access_log=False,
                log_config=logging_config("ingest"),
                timeout_keep_alive=30, backlog=4096)
