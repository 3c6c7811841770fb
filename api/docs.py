"""The interactive API docs (Swagger UI at /docs) under a strict Content-Security-Policy.

FastAPI's own docs routes cannot carry a CSP of their own, so the page is served here:
its one inline script is allowed by its hash (computed from the page itself, so the
policy follows FastAPI's template), its script and stylesheet only from the CDN the page
names, and the API only from this origin. ReDoc and the OAuth2 redirect page are not
served: the API authenticates with bearer tokens, and one docs page is enough.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

__all__ = ["install_docs", "docs_csp"]

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_ASSET_ORIGIN = re.compile(r'(?:src|href)="(https://[^/"]+)/')


def docs_csp(html: str) -> str:
    """The CSP that lets exactly this page run: its inline scripts by hash, its assets' origins."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
                      for script in _INLINE_SCRIPT.findall(html))
    origins = " ".join(sorted(set(_ASSET_ORIGIN.findall(html))))
    return (f"default-src 'none'; script-src {origins} {hashes}; style-src {origins}; img-src {origins} data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def install_docs(app: FastAPI, docs_url: str, openapi_url: str) -> None:
    page = get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} - docs", oauth2_redirect_url=None)
    html = bytes(page.body).decode()
    csp = docs_csp(html)

    @app.get(docs_url, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})
