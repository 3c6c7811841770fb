"""The web app in front of the API (api/web_app.py): which requests it answers and how."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.web_app import APP_CSP, WebApp, is_api_path


async def _api(scope, receive, send):
    """Stands for the admin API: answers 418 so a test sees who answered."""
    await send({"type": "http.response.start", "status": 418, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"api"})


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=root></div>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("not served")
    return tmp_path


def _client(dist: Path) -> TestClient:
    return TestClient(WebApp(dist, {"ingest_url": "http://ingest:8080", "prefect_url": None}).in_front_of(_api))


@pytest.mark.parametrize("path", ["/v1/meters", "/v1", "/webhooks/stripe", "/docs", "/openapi.json", "/healthz"])
def test_api_paths_reach_the_api(dist, path):
    assert is_api_path(path)
    assert _client(dist).get(path).status_code == 418


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_writes_reach_the_api_whatever_the_path(dist, method):
    assert getattr(_client(dist), method)("/usage").status_code == 418


@pytest.mark.parametrize("path", ["/", "/usage", "/billing/invoices/INV-1", "/settings?tab=keys"])
def test_client_routes_get_the_app(dist, path):
    response = _client(dist).get(path)
    assert response.status_code == 200 and response.text == "<div id=root></div>"
    assert response.headers["content-security-policy"] == APP_CSP
    assert response.headers["cache-control"] == "no-cache"


def test_assets_are_cached_for_good_and_missing_ones_are_404(dist):
    client = _client(dist)
    asset = client.get("/assets/index-abc.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert client.get("/assets/index-old.js").status_code == 404


def test_nothing_outside_the_build_is_served(dist):
    response = _client(dist).get("/../secret.txt")
    assert "not served" not in response.text
    assert _client(dist).get("/%2e%2e/secret.txt").text != "not served"


def test_the_config_names_the_addresses(dist):
    assert _client(dist).get("/app-config.json").json() == {"ingest_url": "http://ingest:8080", "prefect_url": None}


def test_an_unbuilt_app_says_how_to_build_it(tmp_path):
    response = _client(tmp_path / "missing").get("/")
    assert response.status_code == 503 and "make install" in response.text
