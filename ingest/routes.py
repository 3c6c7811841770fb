"""FastAPI routes of ingest: health, readiness, metrics, and the documented POST /v1/events.

``POST /v1/events`` is served by ``ingest.events.events_endpoint`` in front of FastAPI
(see ``ingest.app``); the route here keeps it in the OpenAPI document and answers the
same way should a request reach FastAPI.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from meterline.tracing import trace_from_headers

from .errors import IngestError, error_body
from .events import IngestContext, body_too_large, handle_events

__all__ = ["error_response", "router"]

router = APIRouter()

JSON = "application/json"


class _ErrorDetail(BaseModel):
    index: int | None
    field: str | None
    reason: str


class _ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[_ErrorDetail]


class IngestErrorResponse(BaseModel):
    """The one error shape (ingest/errors.py); a model only for the OpenAPI document."""

    error: _ErrorInfo


def _errors(*statuses: tuple[int, str]) -> dict[int | str, dict]:
    return {status: {"model": IngestErrorResponse, "description": text} for status, text in statuses}


# Every status POST /v1/events can answer (ingest/events.py), so clients and the fuzz
# test (tests/integration/test_openapi_fuzz.py) hold it to its spec.
_EVENTS_ERRORS = _errors(
    (401, "Missing, unknown or revoked API key"),
    (403, "The tenant is suspended"),
    (413, "The body or an event is over its size limit"),
    (415, "Not JSON, a JSON array or NDJSON"),
    (422, "Events that cannot be accepted, each named by index, field and reason"),
    (429, "Over the tenant's event rate, or a meter is blocked for the period (Retry-After)"),
    (500, "An unexpected error; nothing was accepted"),
    (503, "Kafka unavailable or ingest at capacity; nothing was accepted (Retry-After)"),
)


def error_response(exc: IngestError) -> Response:
    return Response(error_body(exc.code, exc.message, exc.details), status_code=exc.status,
                    media_type=JSON, headers=exc.headers)


@router.post("/v1/events", status_code=202, summary="Ingest CloudEvents (one, an array, or NDJSON)",
             responses={202: {"description": "Every event is durable in Kafka"}, **_EVENTS_ERRORS})
async def post_events(request: Request) -> Response:
    headers = request.headers

    async def read_body(max_bytes: int) -> bytes:
        parts, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise body_too_large(max_bytes)
            parts.append(chunk)
        return b"".join(parts)

    ctx = request.app.state.ingest
    trace = trace_from_headers(headers.get("traceparent"), headers.get("x-request-id"), ctx.settings.trace_all_events)
    answer = await handle_events(ctx, headers.get("authorization"), headers.get("content-length"),
                                 headers.get("content-type"), read_body, trace)
    return Response(answer.body, status_code=answer.status, media_type=JSON, headers=answer.headers)


@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type=JSON)


@router.get("/readyz", summary="The broker is reachable", responses=_errors((503, "Kafka does not answer")))
async def readyz(request: Request) -> Response:
    ctx: IngestContext = request.app.state.ingest
    if await ctx.producer.ping(timeout_s=2.0):
        return Response(b'{"status":"ready"}', media_type=JSON)
    return error_response(IngestError(503, "broker_unreachable", "Kafka does not answer",
                                      headers={"Retry-After": str(ctx.settings.retry_after_s)}))


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "The Prometheus text format"}})
async def metrics(request: Request) -> Response:
    ctx: IngestContext = request.app.state.ingest
    from prometheus_client import CONTENT_TYPE_LATEST

    ctx.metrics.set_in_flight(ctx.budget.requests, ctx.budget.bytes)
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
