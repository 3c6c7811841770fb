"""The web app (web/dist) at `/`, in front of the API: the embedded stack needs no other process.

`WebFront` answers GET and HEAD requests outside the API's paths: a built file when one
matches (hashed assets cached for a year, everything else revalidated), `/app-config.json`
(the addresses the app shows), and the app's index.html for any other path, so a client
route such as /usage?meter=x loads the app. Everything else reaches the API untouched:
its 404s, 405s and error shapes stay its own.

The directory is read per request, so a rebuild needs no restart, and a missing build is
answered with a page saying how to build it rather than the API's 404.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse, Response

__all__ = ["WebApp", "WebFront", "APP_CSP", "is_api_path"]

Scope = MutableMapping[str, Any]
App = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

# Nothing by default; the app's own scripts, styles, images and API calls from this origin; no inline script.
APP_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
           "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
_API_PREFIXES = ("/v1/", "/webhooks/")
# /redoc: a docs address FastAPI would use; the API answers it (404), not the app.
_API_PATHS = frozenset({"/v1", "/webhooks", "/docs", "/redoc", "/openapi.json", "/healthz", "/metrics"})
_NOT_BUILT = ("<!doctype html><title>Meterline</title><h1>The web app is not built</h1>"
              "<p>Run <code>make install</code> (it runs <code>npm ci &amp;&amp; npm run build</code> in "
              "<code>web/</code>), then reload. The API is at <a href=\"/docs\">/docs</a>.</p>")


def is_api_path(path: str) -> bool:
    return path in _API_PATHS or path.startswith(_API_PREFIXES)


@dataclass(frozen=True)
class WebApp:
    dist_dir: Path
    # What /app-config.json tells the app: {"ingest_url": ..., "prefect_url": ...}.
    config: dict[str, str | None] = field(default_factory=dict)

    def in_front_of(self, api: App) -> WebFront:
        return WebFront(api, self)


class WebFront:
    def __init__(self, api: App, web: WebApp) -> None:
        self.api = api
        self.web = web

    async def __call__(self, scope: Scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or is_api_path(scope["path"]):
            await self.api(scope, receive, send)
            return
        await self._respond(scope["path"])(scope, receive, send)

    def _respond(self, path: str) -> Response:
        headers = {"Content-Security-Policy": APP_CSP}
        if path == "/app-config.json":
            return Response(json.dumps(self.web.config), media_type="application/json",
                            headers={**headers, "Cache-Control": "no-cache"})
        built = self._file(path)
        if built is not None:
            # Vite names assets by content hash: a changed file is a new name.
            cache = "public, max-age=31536000, immutable" if path.startswith("/assets/") else "no-cache"
            return FileResponse(built, headers={**headers, "Cache-Control": cache})
        if path.startswith("/assets/"):
            return Response("no such asset", status_code=404, media_type="text/plain", headers=headers)
        index = self.web.dist_dir / "index.html"
        if not index.is_file():
            return Response(_NOT_BUILT, status_code=503, media_type="text/html", headers=headers)
        return FileResponse(index, headers={**headers, "Cache-Control": "no-cache"})

    def _file(self, path: str) -> Path | None:
        root = self.web.dist_dir.resolve()
        relative = path.lstrip("/")
        if not relative:
            return None
        candidate = (root / relative).resolve()
        # ../ and symlinks out of the build directory are not served.
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate
