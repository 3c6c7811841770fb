"""HTTP handlers: decode, call, map. The checks run cheapest first:

in-flight bound (503) -> API key (401/403) -> body size (413) -> parse and validate
(415/413/422, the whole request rejected if any event is bad) -> tenant rate limit (429)
-> produce, answered 202 only once Kafka acknowledged every record (else 503).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, Request, Response

from meterline.settings import IngestSettings

from .admission import InFlightBudget
from .auth import KeyCache, bearer_key
from .errors import FieldError, IngestError, error_body
from .metrics import IngestMetrics
from .packing import pack_events
from .producer import BrokerUnavailable, EventProducer
from .rate_limit import TenantRateLimiter
from .schemas import Limits, parse_body, rfc3339_utc, validate_events

__all__ = ["IngestContext", "router"]

router = APIRouter()

JSON = "application/json"


@dataclass
class IngestContext:
    settings: IngestSettings
    limits: Limits
    keys: KeyCache
    producer: EventProducer
    rate_limiter: TenantRateLimiter
    budget: InFlightBudget
    metrics: IngestMetrics


def error_response(exc: IngestError) -> Response:
    return Response(error_body(exc.code, exc.message, exc.details), status_code=exc.status,
                     media_type=JSON, headers=exc.headers)


@router.post("/v1/events", status_code=202, summary="Ingest CloudEvents (one, an array, or NDJSON)")
async def post_events(request: Request) -> Response:
    ctx: IngestContext = request.app.state.ingest
    metrics = ctx.metrics
    started = time.perf_counter()
    if not ctx.budget.try_enter():
        metrics.requests.labels("503").inc()
        metrics.rejected.labels("overloaded").inc()
        return error_response(_overloaded(ctx, "too many requests in flight"))
    metrics.in_flight.inc()
    outcome = _Outcome()
    try:
        await _ingest(ctx, request, outcome)
        metrics.accepted.inc(outcome.accepted)
        if outcome.duplicates:
            metrics.duplicates.inc(outcome.duplicates)
        metrics.requests.labels("202").inc()
        return Response(orjson.dumps({"accepted": outcome.accepted, "duplicates_in_request": outcome.duplicates}),
                        status_code=202, media_type=JSON)
    except IngestError as exc:
        metrics.requests.labels(str(exc.status)).inc()
        metrics.rejected.labels(exc.code).inc(outcome.events)
        return error_response(exc)
    finally:
        ctx.budget.leave()
        metrics.in_flight.dec()
        metrics.request_latency.observe(time.perf_counter() - started)


@dataclass
class _Outcome:
    events: int = 1  # what a rejection counts before the body is parsed
    accepted: int = 0
    duplicates: int = 0


async def _ingest(ctx: IngestContext, request: Request, outcome: _Outcome) -> None:
    owner = await ctx.keys.owner(bearer_key(request.headers.get("authorization")))
    settings = ctx.settings
    max_body = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise _body_too_large(max_body)
    reserved = int(declared) if declared is not None and declared.isdigit() else max_body
    if not ctx.budget.try_reserve(reserved):
        raise _overloaded(ctx, "too many bytes in flight")
    ctx.metrics.in_flight_bytes.inc(reserved)
    release_once = _Release(ctx, reserved)
    try:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                raise _body_too_large(max_body)
            chunks.append(chunk)
        body = b"".join(chunks)
        del chunks
        now = datetime.now(UTC)
        raw = parse_body(body, request.headers.get("content-type"), ctx.limits.max_events)
        outcome.events = len(raw)
        validated = validate_events(raw, now, ctx.limits)
        del raw, body
        outcome.events = len(validated.events)
        if validated.events:
            wait_s = ctx.rate_limiter.admit(str(owner.tenant_id), len(validated.events))
            if wait_s:
                raise IngestError(429, "rate_limited",
                                  f"tenant {owner.tenant_slug} is over its rate of "
                                  f"{settings.rate_limit_events_per_s:g} events/s",
                                  [FieldError(None, None, f"retry in {wait_s} s")],
                                  headers={"Retry-After": str(wait_s)})
            records = pack_events(str(owner.tenant_id), rfc3339_utc(now), validated.events,
                                  settings.max_pack_events, settings.max_pack_bytes)
            del validated.events[:]
            produce_started = time.perf_counter()
            release_once.handed_over = True
            try:
                await ctx.producer.produce(records, settings.produce_timeout_s, on_settled=release_once)
            except BrokerUnavailable as exc:
                raise IngestError(503, "broker_unavailable",
                                  "Kafka did not acknowledge the events in time; nothing was accepted, "
                                  "retry the whole request (ids make it safe)",
                                  [FieldError(None, None, str(exc))],
                                  headers={"Retry-After": str(settings.retry_after_s)}) from exc
            finally:
                ctx.metrics.produce_latency.observe(time.perf_counter() - produce_started)
        outcome.accepted = outcome.events
        outcome.duplicates = validated.duplicates
    finally:
        # Before produce (or on any error up to it) the reservation is released here;
        # once produce was called, when its records settle.
        release_once.unless_handed_over()


class _Release:
    """Releases a byte reservation exactly once, from the request or from the producer."""

    def __init__(self, ctx: IngestContext, n: int):
        self._ctx, self._n = ctx, n
        self.handed_over = False  # True once the producer owns the release
        self._done = False

    def __call__(self) -> None:
        if not self._done:
            self._done = True
            self._ctx.budget.release(self._n)
            self._ctx.metrics.in_flight_bytes.dec(self._n)

    def unless_handed_over(self) -> None:
        if not self.handed_over:
            self()


def _body_too_large(max_body: int) -> IngestError:
    return IngestError(413, "body_too_large", f"the body exceeds {max_body} bytes",
                       [FieldError(None, None, f"at most {max_body} bytes per request")])


def _overloaded(ctx: IngestContext, why: str) -> IngestError:
    return IngestError(503, "overloaded", f"the service is at capacity ({why}); retry shortly",
                       headers={"Retry-After": str(ctx.settings.retry_after_s)})

@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type=JSON)


@router.get("/readyz", summary="The broker is reachable")
async def readyz(request: Request) -> Response:
    ctx: IngestContext = request.app.state.ingest
    if await ctx.producer.ping(timeout_s=2.0):
        return Response(b'{"status":"ready"}', media_type=JSON)
    return error_response(IngestError(503, "broker_unreachable", "Kafka does not answer",
                                      headers={"Retry-After": str(ctx.settings.retry_after_s)}))


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    ctx: IngestContext = request.app.state.ingest
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
