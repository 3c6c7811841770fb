"""The web app's tests: its build, a browser, and tenants with usage made through the public API.

- The app is built by the Makefile's own rule (npm ci when the lock changed, npm run build
  when a source did), so the tests run what `make install` serves.
- The browser is Debian's chromium (installed when missing), driven by Playwright with the
  flags this machine needs; Playwright's own browser download is never used.
- Tenants are registered, given meters, a plan and a subscription, and sent events through
  ingest exactly as a customer would; nothing is written to the stores directly.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from meterline.settings import PROJECT_ROOT, Settings

__all__ = ["CHROMIUM_FLAGS", "build_web_app", "screenshot_dir", "AppTenant", "register_tenant", "push_events",
           "wait_for_totals", "operator_plan"]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def build_web_app() -> Path:
    """web/dist, rebuilt by `make` when stale; a clear failure when Node.js or npm is missing."""
    for tool in ("node", "npm", "make"):
        if shutil.which(tool) is None:
            pytest.fail(f"`{tool}` is missing: the web app is built with Node.js 20 and npm (web/package-lock.json)",
                        pytrace=False)
    result = subprocess.run(["make", "-s", "web/dist/index.html"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=900)
    if result.returncode != 0:
        pytest.fail(f"building the web app failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}", pytrace=False)
    return PROJECT_ROOT / "web" / "dist"


def screenshot_dir(settings: Settings) -> Path:
    directory = Path(settings.run_dir) / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@dataclass
class AppTenant:
    slug: str
    email: str
    password: str
    token: str
    api_key: str
    tenant_id: str = ""
    sent: dict[str, Decimal] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _ok(response: httpx.Response) -> dict:
    assert response.status_code < 300, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else {}


def operator_plan(api: httpx.Client, settings: Settings, slug: str, *, limits: bool = True) -> str:
    from tests.support.operators import operator_headers_sync

    # Plans are a finance operator's to create (the bootstrap token only makes operator accounts).
    operator = operator_headers_sync(str(api.base_url), settings, "finance")
    _ok(api.post("/v1/plans", headers=operator, json={
        "slug": slug, "name": f"Web {slug[-4:]}", "currency": "USD", "flat_fee": "49.00",
        "charges": [{"model": "unit", "meter_slug": "api-calls", "unit_price": "0.002"},
                    {"model": "unit", "meter_slug": "llm-tokens", "unit_price": "0.00001", "included_usage": "1000"}],
        "limits": [{"meter_slug": "api-calls", "quantity": "500", "kind": "soft"},
                   {"meter_slug": "llm-tokens", "quantity": "1000000", "kind": "hard"}] if limits else [],
    }))
    return slug


def register_tenant(api: httpx.Client, plan_slug: str | None, *, meters: bool = True) -> AppTenant:
    slug = "w" + uuid.uuid4().hex[:10]
    password = secrets.token_urlsafe(18)
    email = f"owner@{slug}.example"
    body = _ok(api.post("/v1/tenants", json={"slug": slug, "name": f"Web {slug}", "owner_email": email,
                                              "owner_password": password}))
    tenant = AppTenant(slug, email, password, body["access_token"]["access_token"], body["api_key"]["key"],
                       body["tenant"]["id"])
    if meters:
        _ok(api.post("/v1/meters", headers=tenant.auth, json={
            "slug": "api-calls", "event_type": "api.call", "aggregation": "COUNT", "group_by": ["region"]}))
        _ok(api.post("/v1/meters", headers=tenant.auth, json={
            "slug": "llm-tokens", "event_type": "llm.completion", "aggregation": "SUM", "value_path": "tokens"}))
    if plan_slug:
        _ok(api.post("/v1/subscriptions", headers=tenant.auth, json={"plan_slug": plan_slug}))
    return tenant


def push_events(ingest: httpx.Client, tenant: AppTenant, calls: int, tokens: list[str], api_key: str | None = None,
                at: datetime | None = None) -> list[str]:
    """`calls` api.call events and one llm.completion per entry of `tokens` (decimal strings); their ids."""
    when = (at or datetime.now(timezone.utc)).isoformat()
    events = [{"specversion": "1.0", "id": uuid.uuid4().hex, "source": "web-test", "type": "api.call",
               "subject": f"customer-{i % 3}", "time": when, "data": {"region": ("eu", "us")[i % 2]}}
              for i in range(calls)]
    events += [{"specversion": "1.0", "id": uuid.uuid4().hex, "source": "web-test", "type": "llm.completion",
                "subject": "customer-0", "time": when, "data": {"tokens": amount}} for amount in tokens]
    response = ingest.post("/v1/events", json=events, headers={"Authorization": f"Bearer {api_key or tenant.api_key}"})
    assert response.status_code == 202, response.text
    tenant.sent["api-calls"] = tenant.sent.get("api-calls", Decimal(0)) + calls
    tenant.sent["llm-tokens"] = tenant.sent.get("llm-tokens", Decimal(0)) + sum((Decimal(t) for t in tokens), Decimal(0))
    return [e["id"] for e in events]


def wait_for_totals(api: httpx.Client, tenant: AppTenant, params: dict, timeout_s: float = 90) -> dict:
    """The usage query's answer once its totals equal what was sent."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = _ok(api.get("/v1/usage/query", headers=tenant.auth, params=params))
        got = {t["meter"]: Decimal(t["quantity"]) for t in answer["totals"]}
        if all(got.get(meter) == quantity for meter, quantity in tenant.sent.items()):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"usage did not arrive within {timeout_s}s: sent {tenant.sent}, counted {got}")
        time.sleep(0.5)
