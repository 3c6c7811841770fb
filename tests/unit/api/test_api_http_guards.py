"""The admin API's HTTP layers in process (no store is touched): the docs switch, CORS for the
configured origins only, the docs page's CSP, and the body limit on a chunked body."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from meterline.bootstrap import api_app
from api.docs import docs_csp
from api.http_guards import BodySizeLimit
from meterline.settings import ApiSettings, Settings


def _get(settings: Settings, method: str, path: str, **kwargs) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=api_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def test_docs_and_openapi_are_served_by_default() -> None:
    settings = Settings()

    assert _get(settings, "GET", "/docs").status_code == 200
    assert _get(settings, "GET", "/openapi.json").json()["info"]["title"] == "Meterline admin API"


def test_docs_and_openapi_can_be_switched_off() -> None:
    settings = Settings(api=ApiSettings(docs_enabled=False))

    for path in ("/docs", "/openapi.json", "/redoc"):
        answer = _get(settings, "GET", path)
        assert answer.status_code == 404
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert _get(settings, "GET", "/healthz").status_code == 200


def test_cors_allows_only_the_configured_origins() -> None:
    settings = Settings(api=ApiSettings(cors_origins=["https://app.example"]))
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}

    allowed = _get(settings, "OPTIONS", "/v1/meters", headers={"Origin": "https://app.example", **preflight})
    refused = _get(settings, "OPTIONS", "/v1/meters", headers={"Origin": "https://evil.example", **preflight})
    simple = _get(settings, "GET", "/healthz", headers={"Origin": "https://app.example"})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-credentials" not in allowed.headers
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == "https://app.example"


def test_the_docs_csp_allows_the_pages_inline_script_by_hash_and_its_cdn() -> None:
    html = ('<link href="https://cdn.example/x.css"><script src="https://cdn.example/b.js"></script>'
            "<script>\nboot()\n</script>")

    policy = docs_csp(html)

    # sha256 of "\nboot()\n", base64
    assert "'sha256-" in policy and "script-src https://cdn.example 'sha256-" in policy
    assert "style-src https://cdn.example" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy


@pytest.mark.parametrize(("chunks", "status"), [([b"a" * 40, b"b" * 40], 200), ([b"a" * 60, b"b" * 60], 413)])
def test_a_chunked_body_is_counted_as_it_arrives(chunks: list[bytes], status: int) -> None:
    seen: list[bytes] = []

    async def app(scope, receive, send) -> None:
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def go() -> int:
        incoming = [{"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
                    for index, chunk in enumerate(chunks)]
        sent: list[dict] = []

        async def receive() -> dict:
            return incoming.pop(0)

        async def send(message: dict) -> None:
            sent.append(message)

        await BodySizeLimit(app, max_bytes=100)({"type": "http", "headers": []}, receive, send)
        return sent[0]["status"]

    assert asyncio.run(go()) == status
    assert seen == ([b"".join(chunks)] if status == 200 else [])
