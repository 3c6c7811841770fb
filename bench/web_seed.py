"""The web bench's seed: a month of a small customer's usage for each of many tenants, and
the closed month's invoices, all made through the public API as customers and finance would.

Per tenant (defaults of bench/web.py):
- registered with its owner, three meters (api-calls COUNT grouped by region, llm-tokens SUM,
  compute-seconds SUM) and a subscription migrated in by finance as started in the month
  that has just closed (one of two plans, alternately), so that month can be invoiced;
- `events` events spread evenly over the last 30 days, from 40 customers (subjects), sent
  through ingest in batches of 500: 60% api.call, 25% llm.completion, 15% job.run;
then finance starts the invoice run of the closed month through the operator API and waits
for its outcomes: every tenant gets a real invoice (rated, charged on localstripe).

The tenants' and operators' sign-ins are written to the run directory, so `--reuse` can time
the pages again on the same data without seeding it anew.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx

__all__ = ["Seed", "seed", "load_seed"]

BATCH = 500
SUBJECTS = 40
SPAN = timedelta(days=30)
_TYPES = (("api.call", 60), ("llm.completion", 25), ("job.run", 15))  # share of events, in percent


@dataclass
class Login:
    email: str
    password: str


@dataclass
class SeededTenant:
    slug: str
    tenant_id: str
    email: str
    password: str
    token: str
    api_key: str
    sent: dict[str, str] = field(default_factory=dict)  # meter -> quantity sent over the month


@dataclass
class Seed:
    tenants: list[SeededTenant]
    finance: Login
    sre: Login
    events_per_tenant: int
    invoiced_period: str
    invoice_run_id: str
    seeded_at: str


def _ok(response: httpx.Response) -> dict:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else {}


def _operator(api: httpx.Client, settings, role: str) -> tuple[Login, dict[str, str]]:
    from tests.support.operators import bootstrap_headers, new_operator_body

    body = new_operator_body(role)
    _ok(api.post("/v1/operator/accounts", json=body, headers=bootstrap_headers(settings)))
    token = _ok(api.post("/v1/operator/auth/login", json={"email": body["email"], "password": body["password"]}))
    return Login(body["email"], body["password"]), {"Authorization": f"Bearer {token['access_token']}"}


def _plans(api: httpx.Client, finance: dict[str, str], run: str) -> list[str]:
    plans = [("starter", "49.00", "0.002", "0.00001"), ("pro", "199.00", "0.0015", "0.000008")]
    for name, flat_fee, call_price, token_price in plans:
        _ok(api.post("/v1/plans", headers=finance, json={
            "slug": f"bench-{name}-{run}", "name": f"Bench {name.title()}", "currency": "USD", "flat_fee": flat_fee,
            "charges": [{"model": "unit", "meter_slug": "api-calls", "unit_price": call_price},
                        {"model": "unit", "meter_slug": "llm-tokens", "unit_price": token_price,
                         "included_usage": "10000"}],
            "limits": [{"meter_slug": "api-calls", "quantity": "5000", "kind": "soft"},
                       {"meter_slug": "llm-tokens", "quantity": "5000000", "kind": "hard"}]}))
    return [f"bench-{name}-{run}" for name, *_ in plans]


_METERS = [{"slug": "api-calls", "event_type": "api.call", "aggregation": "COUNT", "group_by": ["region"]},
           {"slug": "llm-tokens", "event_type": "llm.completion", "aggregation": "SUM", "value_path": "tokens"},
           {"slug": "compute-seconds", "event_type": "job.run", "aggregation": "SUM", "value_path": "seconds"}]


def _events(count: int, now: datetime) -> tuple[list[dict], dict[str, Decimal]]:
    """`count` events evenly over the 30 days before `now`, and the quantity each meter should count."""
    kinds = [kind for kind, share in _TYPES for _ in range(share)]
    sent = {"api-calls": Decimal(0), "llm-tokens": Decimal(0), "compute-seconds": Decimal(0)}
    events = []
    for i in range(count):
        kind = kinds[(i * 37) % len(kinds)]
        at = now - SPAN + SPAN * (i + 0.5) / count
        if kind == "api.call":
            data, meter, quantity = {"region": ("eu", "us", "ap")[i % 3]}, "api-calls", Decimal(1)
        elif kind == "llm.completion":
            quantity = Decimal(20 + (i * 7919) % 3980)
            data, meter = {"tokens": str(quantity)}, "llm-tokens"
        else:
            quantity = Decimal((i * 104_729) % 60_000) / 100  # 0-600 s with centiseconds
            data, meter = {"seconds": str(quantity)}, "compute-seconds"
        sent[meter] += quantity
        events.append({"specversion": "1.0", "id": uuid.uuid4().hex, "source": "bench-web", "type": kind,
                       "subject": f"cust-{(i * 13) % SUBJECTS}", "time": at.isoformat(), "data": data})
    return events, sent


def _tenant(api: httpx.Client, finance: dict[str, str], plan: str, subscribed_at: datetime) -> SeededTenant:
    slug = "b" + uuid.uuid4().hex[:10]
    email, password = f"owner@{slug}.example", "bench-" + uuid.uuid4().hex
    body = _ok(api.post("/v1/tenants", json={"slug": slug, "name": f"Bench {slug}", "owner_email": email,
                                              "owner_password": password}))
    auth = {"Authorization": f"Bearer {body['access_token']['access_token']}"}
    for meter in _METERS:
        _ok(api.post("/v1/meters", headers=auth, json=meter))
    tenant_id = body["tenant"]["id"]
    _ok(api.post(f"/v1/operator/tenants/{tenant_id}/subscriptions", headers=finance,
                 json={"plan_slug": plan, "started_at": subscribed_at.isoformat()}))
    return SeededTenant(slug, tenant_id, email, password, body["access_token"]["access_token"], body["api_key"]["key"])


def _send_month(ingest: httpx.Client, tenant: SeededTenant, events: int, now: datetime) -> None:
    batch, sent = _events(events, now)
    key = {"Authorization": f"Bearer {tenant.api_key}"}
    for start in range(0, len(batch), BATCH):
        response = ingest.post("/v1/events", json=batch[start:start + BATCH], headers=key)
        if response.status_code != 202:
            raise RuntimeError(f"ingest refused a batch: {response.status_code} {response.text}")
    tenant.sent = {meter: str(quantity) for meter, quantity in sent.items()}


def _wait_counted(api: httpx.Client, tenants: list[SeededTenant], since: datetime, timeout_s: float) -> None:
    """Until every tenant's usage over the month equals what was sent (the stream caught up)."""
    deadline = time.monotonic() + timeout_s
    for index, tenant in enumerate(tenants):
        # Signed in again: seeding many tenants outlasts an access token.
        tenant.token = _ok(api.post("/v1/auth/login", json={"email": tenant.email,
                                                            "password": tenant.password}))["access_token"]
        while True:
            answer = _ok(api.get("/v1/usage/query", headers={"Authorization": f"Bearer {tenant.token}"},
                                 params={"from": since.isoformat(), "window": "month"}))
            got = {t["meter"]: Decimal(t["quantity"]) for t in answer["totals"]}
            if all(got.get(meter) == Decimal(quantity) for meter, quantity in tenant.sent.items()):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"usage of {tenant.slug} not counted in {timeout_s}s: {got} of {tenant.sent}")
            time.sleep(1)
        print(f"\r  counted {index + 1}/{len(tenants)} tenants", end="", flush=True)
    print()


def _invoice_run(api: httpx.Client, finance: dict[str, str], period: str, timeout_s: float) -> str:
    run = _ok(api.post("/v1/operator/invoice-runs", headers=finance, json={"period": period, "dry_run": False}))
    deadline = time.monotonic() + timeout_s
    while (run := _ok(api.get(f"/v1/operator/invoice-runs/{run['id']}", headers=finance)))["outcomes"] is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the invoice run of {period} did not report in {timeout_s}s: {run['state']}")
        time.sleep(2)
    failed = [o for o in run["outcomes"] if o["status"] == "failed"]
    if failed:
        raise RuntimeError(f"{len(failed)} invoices failed, e.g. {failed[0]}")
    print(f"  invoice run {period}: {len(run['outcomes'])} invoices")
    return run["id"]


def seed(settings, tenants: int, events: int, workers: int = 4) -> Seed:
    from meterline.bootstrap import usage_horizon
    from meterline.demo import DemoPeriod

    now = datetime.now(timezone.utc)
    period = DemoPeriod.last_closed(now, usage_horizon(settings))
    run = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=f"http://127.0.0.1:{settings.api.port}", timeout=120) as api, \
            httpx.Client(base_url=f"http://127.0.0.1:{settings.ingest.port}", timeout=120) as ingest:
        finance_login, finance = _operator(api, settings, "finance")
        sre_login, _ = _operator(api, settings, "sre")
        plans = _plans(api, finance, run)
        # One registration at a time: each migrates the tenant's schema, which concurrent
        # registrations do not survive today (alembic's module-level context: a 500).
        seeded: list[SeededTenant] = []
        for index in range(tenants):
            seeded.append(_tenant(api, finance, plans[index % len(plans)], period.subscribed_at))
            print(f"\r  registered {index + 1}/{tenants} tenants", end="", flush=True)
        print()
        with ThreadPoolExecutor(workers) as pool:
            for done, _ in enumerate(pool.map(lambda t: _send_month(ingest, t, events, now), seeded), start=1):
                print(f"\r  sent {done}/{tenants} tenants' {events} events", end="", flush=True)
        print()
        _wait_counted(api, seeded, (now - SPAN).replace(second=0, microsecond=0) - timedelta(minutes=1), 1200)
        run_id = _invoice_run(api, finance, period.label, 1200)
    return Seed(seeded, finance_login, sre_login, events, period.label, run_id, now.isoformat())


def save_seed(seed_: Seed, path: Path) -> None:
    path.write_text(json.dumps(asdict(seed_), indent=1))


def load_seed(path: Path) -> Seed:
    raw = json.loads(path.read_text())
    return Seed(**{**raw, "tenants": [SeededTenant(**t) for t in raw["tenants"]],
                   "finance": Login(**raw["finance"]), "sre": Login(**raw["sre"])})
