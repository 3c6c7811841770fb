"""Benchmark of the web app (issue 14 "Speed"); not a test.

    .venv/bin/python bench/web.py [--tenants 100] [--events 2400] [--loads 10] [--keep] [--reuse] [--waterfall]
    (or: make bench-web)

Starts the embedded stack and Meterline's services (stream, ingest, admin API, flows) under
.run/bench-web on ports of its own (34xxx; override with the usual METERLINE_* variables),
builds the app as `make install` does, and seeds it through the public API (bench/web_seed.py):
--tenants tenants, each a small customer with a month of usage: three meters, --events
events (default 2,400) from 40 customers spread over the last 30 days and sent through ingest
in batches of 500, a subscription since the closed month (two plans), and that month's
invoice from a real invoice run started by finance. Then it opens every page and every
operator console section --loads times in Debian's chromium (Playwright, one browser) as
one of those tenants, finance, or an SRE (the pipeline), and times each load from navigation
to its data-complete state: every section's numbers on screen (PAGES: the elements that
hold them) and no section still loading. It also times opening an invoice's usage line down
to its hourly windows (loaded on demand). Prints p50/p95 per page, the load average, and the
gzipped size of the JavaScript the first page load needs (index.html's script and its
preloads). The last line is one JSON object with every figure.

--keep leaves the stack and its data running; --reuse times the pages again on the data a
--keep run left (no seeding); --waterfall prints each page's API requests (start-end, ms
from navigation) of its last load; --api URL times the app another admin API serves on the
same data (an old build's, to compare in one window). Without --keep everything started is stopped at the end.
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
from datetime import datetime, timezone
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

SERVICES = ("stream", "ingest", "api", "flows")


def _ids(*names: str) -> list[str]:
    return [f"[data-testid='{name}']" for name in names]


# Each page: its address, who opens it, and the elements that hold its data once loaded. A
# load is data-complete when all of them are on screen and no section is still loading.
PAGES: dict[str, tuple[str, str, list[str]]] = {
    "dashboard": ("/", "tenant", ["[data-testid^='usage-']", *_ids("plan-name", "preview-total")]),
    "usage-explorer": ("/usage?range=30d&window=day", "tenant", ["[data-testid^='total-quantity-']",
                                                                 *_ids("usage-table")]),
    "billing": ("/billing", "tenant", _ids("invoices", "preview-total")),  # payments: none until Stripe reports
    "developers": ("/developers", "tenant", _ids("events")),
    "settings": ("/settings", "tenant", _ids("api-keys", "meters", "users", "audit")),
    "operator-console": ("/operator", "finance", _ids("mrr-table", "subscriptions-table", "churn-table", "arpu-table",
                                                      "revenue-table", "top-revenue", "top-usage")),
    "operator-tenants": ("/operator/tenants", "finance", _ids("tenants-table")),
    "operator-invoice-runs": ("/operator/invoice-runs", "finance", _ids("invoice-runs", "run-outcomes")),
    "operator-pipeline": ("/operator/pipeline", "sre", _ids("lag-table", "dead-letters-hour", "flow-runs",
                                                            "pipeline-table")),
}
LINE_DRILL = "billing-line-windows"

_COMPLETE = "sels => sels.every(s => document.querySelector(s) !== null) && !document.querySelector('.state-loading')"
_WATERFALL = """() => performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/') || e.name.includes('/assets/'))
    .map(e => [new URL(e.name).pathname + new URL(e.name).search, Math.round(e.startTime), Math.round(e.responseEnd)])"""


def initial_js_gzip_bytes(dist: Path) -> int:
    index = (dist / "index.html").read_text()
    scripts = re.findall(r'(?:src|href)="(/assets/[^"]+\.js)"', index)
    return sum(len(gzip.compress((dist / s.lstrip("/")).read_bytes(), 9)) for s in scripts)


def _sign_in(page, base: str, who: str, login) -> None:
    page.goto(base + "/sign-in")
    if who != "tenant":
        page.get_by_role("tab", name="Operator").click()
    page.get_by_label("Email").fill(login.email)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard" if who == "tenant" else "Operator console").wait_for(timeout=30_000)


def _load(page, url: str, ready: list[str]) -> float:
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    # Checked every animation frame: a locator's wait polls every 500 ms once it has waited
    # a while, which would round every figure up to that step.
    _wait_complete(page, ready)
    return time.perf_counter() - started


def _wait_complete(page, ready: list[str]) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(_COMPLETE, arg=ready, polling="raf", timeout=60_000)
    except PlaywrightTimeout:
        missing = [s for s in ready if page.query_selector(s) is None]
        loading = page.eval_on_selector_all(".state-loading", "els => els.map(e => e.textContent)")
        raise SystemExit(f"{page.url} not data-complete in 60 s: missing {missing}, still loading {loading}, "
                         f"errors {_errors_shown(page)}") from None


def _line_drill(page) -> float:
    """Opens the first invoice and its first usage line: the time until the line's hourly windows show."""
    page.locator("[data-testid='invoices'] button.link").first.click()
    line = page.locator("[data-testid^='lines-of-'] button.link").first
    started = time.perf_counter()
    line.click()
    _wait_complete(page, ["[data-testid^='line-windows-']"])
    return time.perf_counter() - started


def _errors_shown(page) -> list[str]:
    return page.eval_on_selector_all(".state-error", "els => els.map(e => e.textContent.slice(0, 160))")


def _time_pages(base: str, logins: dict, loads: int, waterfall: bool, only: set[str]) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    from tests.support.tools import debian_binary
    from tests.support.web import CHROMIUM_FLAGS

    pages = {name: page for name, page in PAGES.items() if not only or name in only}
    times: dict[str, list[float]] = {name: [] for name in [*pages, LINE_DRILL] if name != LINE_DRILL or "billing" in pages}
    with sync_playwright() as playwright:
        chromium = debian_binary("chromium", "chromium")
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        for name, (path, who, ready) in pages.items():
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
            page = context.new_page()
            _sign_in(page, base, who, logins[who])
            for _ in range(loads):
                times[name].append(_load(page, base + path, ready))
                if name == "billing":
                    times[LINE_DRILL].append(_line_drill(page))
            if errors := _errors_shown(page):
                print(f"  {name}: error states on screen: {errors}")
            if waterfall:
                print(f"  {name} (last load): " + ", ".join(f"{p} {a}-{b}" for p, a, b in page.evaluate(_WATERFALL)))
            context.close()
        browser.close()
    return times


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (statistics.median(ordered) * 1000,
            ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000)


def _stack(settings, *, up: bool) -> None:
    from infra import infra_down, infra_up
    from infra.services import service_process
    from meterline.bootstrap import migrate

    if up:
        infra_up(settings, report=lambda line: print(" ", line, flush=True))
        migrate(settings)
        for name in SERVICES:
            service_process(settings, name).start()
    else:
        for name in SERVICES:
            service_process(settings, name).stop()
        infra_down(settings, report=lambda line: print(" ", line, flush=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--events", type=int, default=2400, help="events per tenant, over the last 30 days")
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="leave the stack and its data running")
    parser.add_argument("--reuse", action="store_true", help="time again on the data a --keep run left")
    parser.add_argument("--waterfall", action="store_true", help="print each page's API requests")
    parser.add_argument("--pages", default="", help="only these pages, comma-separated (default: all)")
    parser.add_argument("--api", help="time the app served by this admin API instead (e.g. an old build's, on the "
                                      "same data: with --reuse)")
    args = parser.parse_args()

    from bench.web_seed import load_seed, save_seed, seed
    from meterline.settings import Settings
    from tests.support.web import build_web_app

    dist = build_web_app()
    settings = Settings()
    seed_file = settings.run_dir / "bench-web-seed.json"
    _stack(settings, up=True)
    try:
        if args.reuse and seed_file.exists():
            seeded = load_seed(seed_file)
        else:
            seeded = seed(settings, args.tenants, args.events)
            save_seed(seeded, seed_file)
        tenant = seeded.tenants[len(seeded.tenants) // 2]
        load_before = os.getloadavg()
        started_at = datetime.now(timezone.utc)
        times = _time_pages(args.api or f"http://127.0.0.1:{settings.api.port}",
                            {"tenant": tenant, "finance": seeded.finance, "sre": seeded.sre}, args.loads, args.waterfall,
                            set(filter(None, args.pages.split(","))))
        load_after = os.getloadavg()
    finally:
        if not args.keep:
            _stack(settings, up=False)
    figures = {"at": started_at.strftime("%Y-%m-%d %H:%M UTC"), "tenants": len(seeded.tenants),
               "events_per_tenant": seeded.events_per_tenant, "invoiced_period": seeded.invoiced_period,
               "loads": args.loads, "load_average_1m": [round(load_before[0], 1), round(load_after[0], 1)],
               "initial_js_gzip_kb": round(initial_js_gzip_bytes(dist) / 1024, 1)}
    print(f"{'page':<22} {'p50 ms':>8} {'p95 ms':>8}")
    for name, samples in times.items():
        p50, p95 = _percentiles(samples)
        figures[name] = {"p50_ms": round(p50), "p95_ms": round(p95)}
        print(f"{name:<22} {p50:8.0f} {p95:8.0f}")
    print(f"load average (1 min) before/after: {load_before[0]:.1f} / {load_after[0]:.1f}")
    print(f"initial JavaScript: {figures['initial_js_gzip_kb']} KB gzipped")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
