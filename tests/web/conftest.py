"""The web app in Debian's chromium against the embedded stack: one browser for the session,
a fresh context (cookies, storage) per test, every page's screenshot under .run/test/screenshots."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from meterline.settings import Settings
from tests.support.tools import debian_binary
from tests.support.web import CHROMIUM_FLAGS, AppTenant, build_web_app, operator_plan, push_events, register_tenant

GATEWAY_PORT = int(os.environ.get("METERLINE_TEST_GATEWAY_PORT", "28081"))


@pytest.fixture(scope="session")
def web_build():
    return build_web_app()


@pytest.fixture(scope="session")
def app_stack(web_build, stack, stream_worker, ingest_service, api_service) -> Settings:
    return api_service


@pytest.fixture(scope="session")
def app_url(app_stack: Settings) -> str:
    return f"http://127.0.0.1:{app_stack.api.port}"


@pytest.fixture(scope="session")
def api(app_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def ingest(app_stack: Settings) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{app_stack.ingest.port}", timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def plan(api, app_stack) -> str:
    import uuid

    return operator_plan(api, app_stack, "web-" + uuid.uuid4().hex[:8])


@pytest.fixture(scope="session")
def tenant_with_usage(api, ingest, plan) -> AppTenant:
    """A subscribed tenant with events counted (the tests wait for them where they read them)."""
    tenant = register_tenant(api, plan)
    push_events(ingest, tenant, calls=412, tokens=["1250.5", "98000", "0.25", "7"])
    return tenant


@pytest.fixture(scope="package")
def browser(app_stack) -> Iterator:
    """One browser for every test of this package. Playwright's sync API keeps an event loop
    running in this thread while it is open, where asyncio.run() (the stack's start, other
    packages' tests) cannot run: so the stack is up before it opens, and it closes with the package."""
    chromium = debian_binary("chromium", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request) -> Iterator:
    """A page at 1280 px, en-US numbers, UTC; fails the test on any console error (a CSP refusal included)."""
    context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    expected = getattr(request.node, "expected_console_errors", ())
    # A refused request logs "Failed to load resource"; the pages show those states themselves.
    unexpected = [e for e in errors if not e.startswith("Failed to load resource") and not any(x in e for x in expected)]
    assert not unexpected, f"console errors: {unexpected}"
