"""Each admin API request's trace id (meterline/tracing.py): from its traceparent or
X-Request-ID header, else new; its log lines carry it and its answer names it in X-Request-ID."""

from __future__ import annotations

from meterline.tracing import TRACE_ID, trace_from_headers

__all__ = ["RequestTrace"]


class RequestTrace:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        traceparent, request_id = headers.get(b"traceparent"), headers.get(b"x-request-id")
        trace = trace_from_headers(traceparent.decode("latin-1") if traceparent else None,
                                   request_id.decode("latin-1") if request_id else None)
        token = TRACE_ID.set(trace.trace_id)
        echoed = (b"x-request-id", trace.trace_id.encode("latin-1"))

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), echoed]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            TRACE_ID.reset(token)
