"""One JSON error shape for every failure: ``{"error": {"code", "message", "details": [...]}}``.

Services, readers and dependencies raise the domain errors of `api.domain_errors`; the
one handler here gives each its HTTP status. FastAPI's own HTTP errors (unknown route,
wrong method) get the same shape, and request validation errors become 422 with one
detail per offending field, naming where it was and why.

`ErrorResponse` is that shape as a schema, and `error_responses(...)` declares the statuses
a route can answer with it in the route's OpenAPI (`responses=`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .domain_errors import (
    Conflict, DomainError, Forbidden, Gone, InvalidInput, MalformedRequest, NotFound, ProviderRefused, Unauthenticated,
    Unavailable,
)

__all__ = ["install_error_handlers", "error_body", "status_of", "ErrorResponse", "error_responses"]

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}

_STATUSES: dict[type[DomainError], int] = {
    MalformedRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    InvalidInput: 422,
    ProviderRefused: 502,
    Unavailable: 503,
}
_DESCRIPTIONS = {
    400: "The request cannot be read or verified",
    401: "No valid credentials",
    403: "Valid credentials, not enough rights",
    404: "Not found (another tenant's ids are not found either)",
    409: "The current state forbids it",
    410: "It existed but can no longer be used",
    413: "The request body is larger than the limit",
    422: "A body field or parameter is invalid; `details` names each one and why",
    429: "Too many requests; retry after the `Retry-After` seconds",
    502: "A provider we depend on refused",
    503: "A store or provider cannot be reached; nothing was done, retry later",
}


class ErrorDetail(BaseModel):
    field: str = Field(description="The field or parameter at fault, dotted for nested ones")
    location: str = Field(description="Where the caller put it: body, query, path, header or request")
    reason: str


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable, machine-readable")
    message: str
    details: list[ErrorDetail]


class ErrorResponse(BaseModel):
    """The one shape of every error answer."""

    error: ErrorInfo


def error_responses(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for these error statuses, each a bare status or (status, description)."""
    declared: dict[int | str, dict[str, Any]] = {}
    for entry in statuses:
        status_code, description = entry if isinstance(entry, tuple) else (entry, _DESCRIPTIONS[entry])
        declared[status_code] = {"model": ErrorResponse, "description": description}
    return declared


# Bearer auth (RFC 6750): a 401 tells the client which scheme to authenticate with.
_UNAUTHENTICATED_HEADERS = {"WWW-Authenticate": "Bearer"}


def error_body(status_code: int, message: str, code: str | None = None,
               details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code or _CODES.get(status_code, "error"), "message": message,
                      "details": details or []}}


def status_of(exc: DomainError) -> int:
    for kind in type(exc).__mro__:
        if kind in _STATUSES:
            return _STATUSES[kind]
    return 500


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    status_code = status_of(exc)
    body = error_body(status_code, exc.message, exc.code, [problem.as_detail() for problem in exc.problems])
    headers = _UNAUTHENTICATED_HEADERS if status_code == 401 else None
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    details = exc.detail if isinstance(exc.detail, list) else []
    body = error_body(exc.status_code, message, None, details)
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def _field(loc: tuple[Any, ...]) -> tuple[str, str]:
    # ("body", "owner_password") -> ("body", "owner_password"); ("query", "from") -> ("query", "from")
    location = str(loc[0]) if loc else "request"
    path = ".".join(str(part) for part in loc[1:]) or location
    return location, path


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = []
    for error in exc.errors():
        location, field = _field(tuple(error.get("loc", ())))
        reason = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            # loc is ("body", <character offset>): the whole body is at fault.
            field = "body"
            reason = f"{reason}: {error.get('ctx', {}).get('error', 'malformed JSON')}"
        # pydantic prefixes messages from our own validators with "Value error, ".
        reason = reason.removeprefix("Value error, ")
        details.append({"field": field, "location": location, "reason": reason})
    fields = ", ".join(d["field"] for d in details)
    body = error_body(422, f"invalid request: {fields}" if fields else "invalid request", "validation_error", details)
    return JSONResponse(body, status_code=422)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body(500, "internal error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
