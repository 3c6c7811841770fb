"""The admin API reads behind the web app's pages, timed one by one (bench/web.py's seed);
not a test. Finds the slow endpoint behind a slow page, and compares two builds of the API
on the same data in one window.

    .venv/bin/python bench/web_api.py [--rounds 7] [--only operator] BASE [BASE ...]

BASE is an admin API address serving the data a `bench/web.py --keep` run left (its
bench-web-seed.json in METERLINE_RUN_DIR); with several (e.g. the branch's API and an old
build's on another port), each round times every endpoint against each base in turn, so
both see the same load. Prints the median and p95 per endpoint and base (ms), and the load
average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("METERLINE_RUN_DIR", str(ROOT / ".run" / "bench-web"))


def _months_from(now: datetime, count: int) -> str:
    month = now.year * 12 + now.month - 1 - (count - 1)
    return f"{month // 12}-{month % 12 + 1:02d}"


def endpoints(now: datetime) -> dict[str, tuple[str, str, dict]]:
    """Name -> (who, path, query): what each page asks for on load (web/src/features)."""
    six = {"from": _months_from(now, 6), "months": 6}
    period_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    minute = now.replace(second=0, microsecond=0)
    return {
        "tenant/standing": ("tenant", "/v1/tenant", {}),
        "tenant/subscription": ("tenant", "/v1/subscriptions/current", {}),
        "dashboard/period-usage": ("tenant", "/v1/usage/query", {
            "from": period_start.isoformat(), "to": minute.isoformat(), "window": "month", "tz": "UTC", "limit": 1}),
        "dashboard/preview": ("tenant", "/v1/invoices/preview", {}),
        "dashboard/alerts": ("tenant", "/v1/notifications/outbox", {"limit": 5}),
        "usage/30d-by-day": ("tenant", "/v1/usage/query", {
            "from": (minute - timedelta(days=30)).replace(hour=0, minute=0).isoformat(), "to": minute.isoformat(),
            "window": "day", "tz": "UTC"}),
        "billing/invoices": ("tenant", "/v1/invoices", {}),
        "billing/payments": ("tenant", "/v1/payments", {"limit": 1000}),
        "billing/corrections": ("tenant", "/v1/corrections", {"state": "all", "limit": 1000}),
        "billing/plans": ("tenant", "/v1/plans", {}),
        "developers/recent": ("tenant", "/v1/events/recent", {"limit": 50}),
        "developers/dead-letters": ("tenant", "/v1/stream/dead-letters", {"limit": 50}),
        "operator/mrr": ("finance", "/v1/operator/analytics/mrr", six),
        "operator/subscriptions": ("finance", "/v1/operator/analytics/subscriptions", six),
        "operator/churn": ("finance", "/v1/operator/analytics/churn", six),
        "operator/arpu": ("finance", "/v1/operator/analytics/arpu", six),
        "operator/revenue-by-plan": ("finance", "/v1/operator/analytics/revenue", {**six, "by": "plan"}),
        "operator/revenue-top": ("finance", "/v1/operator/analytics/revenue/top", {**six, "limit": 10}),
        "operator/usage-top": ("finance", "/v1/operator/analytics/usage/top", {**six, "limit": 10}),
        "operator/usage": ("finance", "/v1/operator/analytics/usage", six),
        "operator/tenants": ("finance", "/v1/operator/tenants", {"limit": 50}),
        "operator/invoice-runs": ("finance", "/v1/operator/invoice-runs", {"limit": 20}),
        "operator/pipeline": ("sre", "/v1/operator/analytics/pipeline", {}),
    }


def _tokens(client: httpx.Client, seed) -> dict[str, dict[str, str]]:
    tenant = seed.tenants[len(seed.tenants) // 2]
    logins = {"tenant": ("/v1/auth/login", tenant), "finance": ("/v1/operator/auth/login", seed.finance),
              "sre": ("/v1/operator/auth/login", seed.sre)}
    headers = {}
    for who, (path, login) in logins.items():
        response = client.post(path, json={"email": login.email, "password": login.password})
        response.raise_for_status()
        headers[who] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return headers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bases", nargs="+")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", default="", help="endpoints whose name starts with this")
    args = parser.parse_args()
    from bench.web_seed import load_seed

    seed = load_seed(Path(os.environ["METERLINE_RUN_DIR"]) / "bench-web-seed.json")
    chosen = {n: e for n, e in endpoints(datetime.now(timezone.utc)).items() if n.startswith(args.only)}
    clients = [httpx.Client(base_url=base, timeout=60) for base in args.bases]
    headers = [_tokens(client, seed) for client in clients]
    samples: dict[tuple[str, int], list[float]] = {}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for name, (who, path, query) in chosen.items():
            for index, client in enumerate(clients):
                started = time.perf_counter()
                response = client.get(path, params=query, headers=headers[index][who])
                samples.setdefault((name, index), []).append(time.perf_counter() - started)
                if response.status_code != 200:
                    print(f"  {name} on {args.bases[index]}: {response.status_code} {response.text[:200]}")
    load.append(os.getloadavg()[0])
    print(f"{'endpoint':<26}" + "".join(f" {b[-5:] + ' p50':>11} {'p95':>6}" for b in args.bases))
    for name in chosen:
        cells = []
        for index in range(len(clients)):
            ordered = sorted(samples[(name, index)])
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            cells.append(f" {statistics.median(ordered) * 1000:11.0f} {p95 * 1000:6.0f}")
        print(f"{name:<26}" + "".join(cells))
    print(f"load average (1 min) before/after: {load[0]:.1f} / {load[1]:.1f}; {args.rounds} rounds, "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
