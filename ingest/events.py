"""POST /v1/events as a bare ASGI endpoint: decode, call, map. The checks run cheapest first:

in-flight bound (503) -> API key (401/403) -> body size (413) -> parse and validate
(415/413/422, the whole request rejected if any event is bad, values and labels checked
against the tenant's meters: ingest.meter_rules) -> meters over a hard
limit (429, ingest.meter_blocks) -> tenant rate limit (429)
-> produce, answered 202 only once Kafka acknowledged every record (else 503).

Why not a FastAPI route: profiled at 2,000 single-event requests/s, FastAPI's and
Starlette's per-request machinery (middleware stack, Request object, exception-handler
wrappers, dependency resolution) took more CPU than everything ingest does for the
event, Kafka included. ``ingest.app`` routes exactly ``POST /v1/events`` here and every
other request to FastAPI; answers and error shapes are the same ``error_body`` as the
rest of the service.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import orjson

from meterline.logs import TRAIL_LOGGER
from meterline.settings import IngestSettings
from meterline.tracing import TRACE_ID, Trace, trace_from_headers

from .admission import InFlightBudget
from .auth import KeyCache, bearer_key
from .errors import FieldError, IngestError, error_body
from .meter_blocks import MeterBlocks
from .meter_rules import MeterRuleCache
from .metrics import IngestMetrics
from .coalescing import RecordCoalescer
from .packing import group_by_partition
from .producer import BrokerUnavailable, EventProducer
from .rate_limit import TenantRateLimiter
from .schemas import Limits, parse_body, validate_events
from .schemas_fast import validate_json_fast

__all__ = ["Answer", "BodyReader", "ClientGone", "IngestContext", "body_too_large", "handle_events",
           "events_endpoint"]

log = logging.getLogger(__name__)
trail = logging.getLogger(TRAIL_LOGGER)

_JSON_HEADERS = [(b"content-type", b"application/json")]
REQUEST_ID_HEADER = "X-Request-ID"  # every answer names the request's trace id


@dataclass
class IngestContext:
    settings: IngestSettings
    limits: Limits
    keys: KeyCache
    producer: EventProducer
    rate_limiter: TenantRateLimiter
    budget: InFlightBudget
    metrics: IngestMetrics
    coalescer: RecordCoalescer
    meter_blocks: MeterBlocks | None = None  # hard limits (429); None: not enforced
    meter_rules: MeterRuleCache | None = None  # meter value bounds (422); None: not enforced


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    @classmethod
    def of(cls, exc: IngestError, trace: Trace | None = None) -> Answer:
        headers = dict(exc.headers or {})
        if trace is not None:
            headers[REQUEST_ID_HEADER] = trace.trace_id
        return cls(exc.status, error_body(exc.code, exc.message, exc.details), headers)


class BodyReader(Protocol):
    """Reads a request's whole body, or raises IngestError 413 as soon as it exceeds ``max_bytes``."""

    async def __call__(self, max_bytes: int) -> bytes: ...


async def events_endpoint(ctx: IngestContext, scope: dict, receive, send) -> None:
    """The ASGI side: headers and body chunks in, one JSON answer out."""
    authorization = content_length = content_type = traceparent = request_id = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"content-length":
            content_length = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"traceparent":
            traceparent = value.decode("latin-1")
        elif name == b"x-request-id":
            request_id = value.decode("latin-1")
    trace = trace_from_headers(traceparent, request_id, ctx.settings.trace_all_events)

    async def read_body(max_bytes: int) -> bytes:
        # A plain loop, not an async generator: each async generator is registered in the
        # loop's weak set of generators, which profiled at several % of a single-event request.
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                raise body_too_large(max_bytes)
            parts.append(chunk)
            if not message.get("more_body", False):
                return parts[0] if len(parts) == 1 else b"".join(parts)

    try:
        answer = await handle_events(ctx, authorization, content_length, content_type, read_body, trace)
    except ClientGone:
        return  # nobody to answer; the producer still settles what was sent
    except Exception:
        log.exception("unexpected error in POST /v1/events")
        answer = Answer.of(IngestError(500, "internal_error", "an unexpected error occurred"), trace)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(answer.body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


class ClientGone(Exception):
    """The client went away before its body arrived."""


async def handle_events(ctx: IngestContext, authorization: str | None, content_length: str | None,
                        content_type: str | None, read_body: BodyReader, trace: Trace | None = None) -> Answer:
    """`trace`: the request's (meterline/tracing.py), a new one when None; the answer names it
    in X-Request-ID, its events carry it to the stream, and log lines of the request carry it."""
    metrics = ctx.metrics
    started = time.perf_counter()
    trace = trace or trace_from_headers(None, None, ctx.settings.trace_all_events)
    TRACE_ID.set(trace.trace_id)  # this request's task only: each request runs in its own
    if not ctx.budget.try_enter():
        metrics.count_rejected(503, "overloaded", 1)
        return Answer.of(_overloaded(ctx, "too many requests in flight"), trace)
    outcome = _Outcome()
    try:
        await _ingest(ctx, authorization, content_length, content_type, read_body, outcome, trace)
        metrics.count_accepted(outcome.accepted, outcome.duplicates)
        return Answer(202, orjson.dumps({"accepted": outcome.accepted, "duplicates_in_request": outcome.duplicates}),
                      {REQUEST_ID_HEADER: trace.trace_id})
    except IngestError as exc:
        metrics.count_rejected(exc.status, exc.code, outcome.events)
        return Answer.of(exc, trace)
    finally:
        ctx.budget.leave()
        metrics.observe_request(time.perf_counter() - started)


@dataclass
class _Outcome:
    events: int = 1  # what a rejection counts before the body is parsed
    accepted: int = 0
    duplicates: int = 0


async def _ingest(ctx: IngestContext, authorization: str | None, declared: str | None, content_type: str | None,
                  read_body: BodyReader, outcome: _Outcome, trace: Trace) -> None:
    owner = await ctx.keys.owner(bearer_key(authorization))
    settings, max_body = ctx.settings, ctx.settings.max_body_bytes
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise body_too_large(max_body)
    reserved = int(declared) if declared is not None and declared.isdigit() else max_body
    if not ctx.budget.try_reserve(reserved):
        raise _overloaded(ctx, "too many bytes in flight")
    release_once = _Release(ctx, reserved)
    try:
        body = await read_body(max_body)
        meters = None if ctx.meter_rules is None else await ctx.meter_rules.rules(owner.tenant_id)
        now = datetime.now(UTC)
        validated = validate_json_fast(body, content_type, now, ctx.limits, meters)
        if validated is None:  # not a plain JSON batch of valid events: the generic path decides
            raw = parse_body(body, content_type, ctx.limits.max_events)
            outcome.events = len(raw)
            validated = validate_events(raw, now, ctx.limits, meters)
            del raw
        del body
        outcome.events = len(validated.types)
        if ctx.meter_blocks is not None:
            await ctx.meter_blocks.check(owner.tenant_id, validated.types)
        outcome.events = len(validated.payloads)
        if validated.payloads:
            wait_s = ctx.rate_limiter.admit(str(owner.tenant_id), outcome.events)
            if wait_s:
                raise IngestError(429, "rate_limited",
                                  f"tenant {owner.tenant_slug} is over its rate of "
                                  f"{settings.rate_limit_events_per_s:g} events/s",
                                  [FieldError(None, None, f"retry in {wait_s} s")],
                                  headers={"Retry-After": str(wait_s)})
            produce_started = time.perf_counter()
            try:
                partition_of = await ctx.producer.partitioner(settings.produce_timeout_s)
                tenant = str(owner.tenant_id)
                groups = group_by_partition(tenant, validated.subjects, validated.payloads, partition_of,
                                            settings.tenant_key_shards.get(tenant, 1))
                release_once.handed_over = True
                acknowledged = ctx.coalescer.submit(tenant, validated.received_at, groups,
                                                    on_settled=release_once, trace=trace)
                log_accepted = _trail_line(tenant, validated.payloads, trace)
                del validated.payloads[:], groups
                await acknowledged
                log_accepted()
            except BrokerUnavailable as exc:
                raise IngestError(503, "broker_unavailable",
                                  "Kafka did not acknowledge the events in time; nothing was accepted, "
                                  "retry the whole request (ids make it safe)",
                                  [FieldError(None, None, str(exc))],
                                  headers={"Retry-After": str(settings.retry_after_s)}) from exc
            finally:
                ctx.metrics.observe_produce(time.perf_counter() - produce_started)
        outcome.accepted = outcome.events
        outcome.duplicates = validated.duplicates
    finally:
        # Before produce (or on any error up to it) the reservation is released here;
        # once produce was called, when its records settle.
        release_once.unless_handed_over()


def _trail_line(tenant_id: str, payloads: list[bytes], trace: Trace):
    """What logs a sampled request's event ids once Kafka acknowledged them (its payloads
    parsed again here: only sampled requests pay for it); nothing for other requests."""
    if not trace.sampled:
        return lambda: None
    event_ids = [orjson.loads(payload)["id"] for payload in payloads]
    return lambda: trail.info("events accepted", extra={"tenant_id": tenant_id, "event_ids": event_ids})


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

    def unless_handed_over(self) -> None:
        if not self.handed_over:
            self()


def body_too_large(max_body: int) -> IngestError:
    return IngestError(413, "body_too_large", f"the body exceeds {max_body} bytes",
                       [FieldError(None, None, f"at most {max_body} bytes per request")])


def _overloaded(ctx: IngestContext, why: str) -> IngestError:
    return IngestError(503, "overloaded", f"the service is at capacity ({why}); retry shortly",
                       headers={"Retry-After": str(ctx.settings.retry_after_s)})
