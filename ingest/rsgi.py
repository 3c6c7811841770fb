"""The ingest app on granian's RSGI interface: ``POST /v1/events`` native, the rest through FastAPI.

Why RSGI: granian parses HTTP in Rust and hands Python one call per request with the
body as bytes, where uvicorn's httptools protocol ran its per-request state machine,
ASGI message dicts and a task in Python (a quarter of a single-event request's CPU).
Only the hot endpoint is written against RSGI; ``/healthz``, ``/readyz``, ``/metrics``,
the OpenAPI pages and any other path go to the same FastAPI app as under an ASGI
server, through the small bridge below (these are rare requests, its cost does not matter).

The FastAPI lifespan (producer, caches, engine) runs in ``__rsgi_init__`` before the
worker serves and is closed in ``__rsgi_del__`` after granian drained the connections
on SIGTERM/SIGINT: the producer flushes what it holds before the process exits.
"""

from __future__ import annotations

import logging
from typing import Any

from meterline.tracing import trace_from_headers

from .errors import IngestError
from .events import Answer, ClientGone, body_too_large, handle_events

__all__ = ["RsgiIngest"]

log = logging.getLogger(__name__)

_JSON = ("content-type", "application/json")


class RsgiIngest:
    def __init__(self, front_door: Any):
        self._door = front_door  # ingest.app._FrontDoor: the FastAPI app and its state
        self._lifespan = None

    # --- worker life ----------------------------------------------------------------

    def __rsgi_init__(self, loop) -> None:
        app = self._door.app
        self._lifespan = app.router.lifespan_context(app)
        loop.run_until_complete(self._lifespan.__aenter__())

    def __rsgi_del__(self, loop) -> None:
        if self._lifespan is not None:
            loop.run_until_complete(self._lifespan.__aexit__(None, None, None))

    # --- requests -------------------------------------------------------------------

    async def __rsgi__(self, scope, protocol) -> None:
        if scope.proto != "http":
            return
        if scope.path == "/v1/events" and scope.method == "POST":
            await self._events(scope, protocol)
        else:
            await _asgi_bridge(self._door.app, scope, protocol)

    async def _events(self, scope, protocol) -> None:
        headers = scope.headers
        declared = headers.get("content-length")

        async def read_body(max_bytes: int) -> bytes:
            if declared is not None and declared.isdigit():
                body = await protocol()  # the declared size was checked against max_bytes already
                if len(body) > max_bytes:
                    raise body_too_large(max_bytes)
                return body
            parts: list[bytes] = []
            size = 0
            async for chunk in protocol:  # chunked: the limit holds while streaming
                size += len(chunk)
                if size > max_bytes:
                    raise body_too_large(max_bytes)
                parts.append(chunk)
            return b"".join(parts)

        ctx = self._door.state.ingest
        trace = trace_from_headers(headers.get("traceparent"), headers.get("x-request-id"),
                                   ctx.settings.trace_all_events)
        try:
            answer = await handle_events(ctx, headers.get("authorization"), declared,
                                         headers.get("content-type"), read_body, trace)
        except ClientGone:
            return
        except Exception:
            log.exception("unexpected error in POST /v1/events")
            answer = Answer.of(IngestError(500, "internal_error", "an unexpected error occurred"), trace)
        if answer.headers:
            protocol.response_bytes(answer.status, [_JSON, *answer.headers.items()], answer.body)
        else:
            protocol.response_bytes(answer.status, [_JSON], answer.body)


async def _asgi_bridge(app, scope, protocol) -> None:
    """One RSGI request through an ASGI app: a whole body in, a whole response out."""
    host, _, port = scope.client.rpartition(":")
    asgi_scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": scope.http_version, "method": scope.method, "scheme": scope.scheme,
        "path": scope.path, "raw_path": scope.path.encode(), "root_path": "",
        "query_string": scope.query_string.encode("latin-1"),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in scope.headers.items()],
        "client": (host, int(port or 0)), "server": None,
    }
    received = False

    async def receive() -> dict:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": await protocol(), "more_body": False}
        await protocol.client_disconnect()
        return {"type": "http.disconnect"}

    status, headers, body = 500, [], []

    async def send(message: dict) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(asgi_scope, receive, send)
    protocol.response_bytes(status, headers, b"".join(body))
