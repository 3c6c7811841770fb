"""Benchmark of the web app (issue 14 "Speed"); not a test.

    .venv/bin/python bench/web.py [--tenants 100] [--events 300] [--loads 7]   (or: make bench-web)

Starts the embedded stack and Meterline's services under .run/bench-web on ports of its own
(34xxx; override with the usual METERLINE_* variables), builds the app as `make install`
does, seeds --tenants tenants (registered, metered and subscribed through the API) with
--events events each spread over the last 30 days (sent through ingest), then opens every
page --loads times in Debian's chromium (Playwright, one browser) as one of those tenants
(the operator console as the operator) and times each load from navigation to its
data-complete state: the page's own numbers on screen. Prints p50/p95 per page and the
gzipped size of the JavaScript the first page load needs (index.html's script and its
preloads). The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_ENV = {
    "METERLINE_ENVIRONMENT": "test",
    "METERLINE_RUN_DIR": str(ROOT / ".run" / "bench-web"),
    "METERLINE_KAFKA__PORT": "34092", "METERLINE_KAFKA__CONTROLLER_PORT": "34093",
    "METERLINE_STRIPE__PORT": "34420", "METERLINE_PREFECT__PORT": "34200", "METERLINE_INGEST__PORT": "34080",
    "METERLINE_API__PORT": "34000", "METERLINE_STREAM__WEB_PORT": "34066", "METERLINE_CLICKHOUSE__PORT": "34123",
    # Seeding registers many tenants from one address.
    "METERLINE_API__REGISTRATIONS_PER_ADDRESS_PER_HOUR": "100000", "METERLINE_API__REGISTRATIONS_PER_HOUR": "100000",
    "METERLINE_API__REQUESTS_PER_MINUTE_DEFAULT": "100000", "METERLINE_API__REQUESTS_PER_MINUTE_PER_USER": "100000",
}
for _name, _value in BENCH_ENV.items():
    os.environ.setdefault(_name, _value)
os.environ.setdefault("METERLINE_CLICKHOUSE__HOST_SECRET_FILE",
                      os.path.join(os.environ["METERLINE_RUN_DIR"], "clickhouse-host", "secret"))

# Each page and what shows its data complete.
PAGES = {
    "dashboard": ("/", "[data-testid^='usage-']"),
    "usage-explorer": ("/usage?range=30d&window=day", "[data-testid='usage-table']"),
    "billing": ("/billing", "[data-testid='invoices'], #card-invoices ~ * .state-empty, section[aria-labelledby='card-invoices'] .state-empty"),
    "developers": ("/developers", "[data-testid='events']"),
    "settings": ("/settings", "[data-testid='api-keys']"),
    "operator-console": ("/operator", "[data-testid='mrr-table']"),
}


def initial_js_gzip_bytes(dist: Path) -> int:
    index = (dist / "index.html").read_text()
    scripts = re.findall(r'(?:src|href)="(/assets/[^"]+\.js)"', index)
    return sum(len(gzip.compress((dist / s.lstrip("/")).read_bytes(), 9)) for s in scripts)


def _seed(settings, tenants: int, events: int):
    import httpx

    from tests.support.web import operator_plan, register_tenant

    now = datetime.now(timezone.utc)
    with httpx.Client(base_url=f"http://127.0.0.1:{settings.api.port}", timeout=60) as api, \
            httpx.Client(base_url=f"http://127.0.0.1:{settings.ingest.port}", timeout=60) as ingest:
        plan = operator_plan(api, settings, "bench-web-" + uuid.uuid4().hex[:6])
        seeded = []
        for index in range(tenants):
            tenant = register_tenant(api, plan)
            batch = [{"specversion": "1.0", "id": uuid.uuid4().hex, "source": "bench", "subject": f"c{i % 20}",
                      "time": (now - timedelta(minutes=(i * 43_200) // events + 1)).isoformat(),
                      **({"type": "api.call", "data": {"region": ("eu", "us")[i % 2]}} if i % 3 else
                         {"type": "llm.completion", "data": {"tokens": str(10 + i % 990)}})}
                     for i in range(events)]
            response = ingest.post("/v1/events", json=batch, headers={"Authorization": f"Bearer {tenant.api_key}"})
            response.raise_for_status()
            seeded.append(tenant)
            print(f"\r  seeded {index + 1}/{tenants} tenants", end="", flush=True)
        print()
    return seeded


def _finance_operator(base: str, settings) -> dict[str, str]:
    """A finance operator's email and password, made with the bootstrap token (the console's sign-in)."""
    import httpx

    from tests.support.operators import bootstrap_headers, new_operator_body

    body = new_operator_body("finance")
    httpx.post(f"{base}/v1/operator/accounts", json=body, headers=bootstrap_headers(settings),
               timeout=30).raise_for_status()
    return body


def _time_pages(settings, tenant, loads: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from tests.support.web import CHROMIUM_FLAGS

    base = f"http://127.0.0.1:{settings.api.port}"
    operator = _finance_operator(base, settings)
    times: dict[str, list[float]] = {name: [] for name in PAGES}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        for name, (path, ready) in PAGES.items():
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
            page = context.new_page()
            page.goto(base + "/sign-in")
            if name == "operator-console":
                page.get_by_role("tab", name="Operator").click()
                page.get_by_label("Email").fill(operator["email"])
                page.get_by_label("Password").fill(operator["password"])
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Operator console").wait_for()
            else:
                page.get_by_label("Email").fill(tenant.email)
                page.get_by_label("Password").fill(tenant.password)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Dashboard").wait_for()
            for _ in range(loads):
                started = time.perf_counter()
                page.goto(base + path, wait_until="commit")
                # Checked every animation frame: a locator's wait polls every 500 ms once it
                # has waited a while, which would round every figure up to that step.
                page.wait_for_function("s => document.querySelector(s) !== null", arg=ready, polling="raf",
                                       timeout=30_000)
                times[name].append(time.perf_counter() - started)
            context.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--events", type=int, default=300, help="events per tenant, over the last 30 days")
    parser.add_argument("--loads", type=int, default=7)
    args = parser.parse_args()

    from infra import infra_up
    from infra.services import service_process
    from meterline.bootstrap import migrate
    from meterline.settings import Settings
    from tests.support.web import build_web_app, wait_for_totals

    dist = build_web_app()
    settings = Settings()
    infra_up(settings, report=lambda line: print(" ", line, flush=True))
    migrate(settings)
    for name in ("stream", "ingest", "api"):
        service_process(settings, name).start()
    tenants = _seed(settings, args.tenants, args.events)
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{settings.api.port}", timeout=60) as api:
        now = datetime.now(timezone.utc)
        start = (now - timedelta(days=31)).replace(second=0, microsecond=0)
        wait_for_totals(api, tenants[-1], {"from": start.isoformat(), "window": "day"}, 600)
    times = _time_pages(settings, tenants[len(tenants) // 2], args.loads)
    figures = {"tenants": args.tenants, "events_per_tenant": args.events, "loads": args.loads,
               "initial_js_gzip_kb": round(initial_js_gzip_bytes(dist) / 1024, 1)}
    print(f"{'page':<18} {'p50 ms':>8} {'p95 ms':>8}")
    for name, samples in times.items():
        ordered = sorted(samples)
        p50 = statistics.median(ordered) * 1000
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000
        figures[name] = {"p50_ms": round(p50), "p95_ms": round(p95)}
        print(f"{name:<18} {p50:8.0f} {p95:8.0f}")
    print(f"initial JavaScript: {figures['initial_js_gzip_kb']} KB gzipped")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
