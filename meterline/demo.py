"""`meterline demo`: the whole pipeline on the embedded defaults, as a user sees it.

Starts the stack (with every Prefect deployment served), registers demo tenants with
meters and a plan through the admin API, migrates them in with subscriptions that started
in the month that has just closed (the operators' backdated subscriptions), pushes that
month's usage through the ingest endpoint over HTTP, waits until it is counted, then
starts an invoice run for the closed month through the operators' API: a flow run of the
generate-invoices deployment, visible in the Prefect UI with its artifacts. Prints each
invoice next to the amount expected from what was pushed, and exits non-zero if any differs.
"""

from __future__ import annotations

import random
import secrets
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from meterline.settings import Settings

__all__ = ["run_demo"]

# Piped or in CI (not a terminal) rich would cut lines at 80 columns: let them run long.
_TERMINAL = sys.stdout.isatty()
console = Console(soft_wrap=not _TERMINAL, width=None if _TERMINAL else 200)

CALL_PRICE = Decimal("0.002")
TOKEN_PRICE = Decimal("0.00001")
FLAT_FEE = Decimal("49.00")
BATCH = 500


@dataclass
class DemoTenant:
    slug: str
    tenant_id: str
    api_key: str
    token: str
    calls: int = 0
    tokens: int = 0
    # The owner's sign-in, printed at the end for the web app.
    email: str = ""
    password: str = ""
    subscribed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def expected_total_minor(self, period_start: datetime, period_end: datetime) -> int:
        # An independent hand calculation (not the rating engine): cents, half up, per
        # line; the flat fee prorated from the subscription's start, by whole seconds.
        def cents(amount: Decimal) -> int:
            return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))

        fee = FLAT_FEE * int((period_end - self.subscribed_at).total_seconds()) / int(
            (period_end - period_start).total_seconds())
        return cents(fee) + cents(self.calls * CALL_PRICE) + cents(self.tokens * TOKEN_PRICE)


def _check(response: httpx.Response, what: str) -> dict:
    if response.status_code >= 400:
        raise SystemExit(f"{what} failed: {response.status_code} {response.text[:500]}")
    return response.json()


def _start_stack(settings: Settings) -> None:
    from infra import infra_up
    from infra.services import SERVICE_NAMES, service_process
    from meterline.bootstrap import migrate

    console.rule("[bold]Starting the stack")
    infra_up(settings, report=lambda line: console.print("  " + line))
    migrate(settings)
    for name in SERVICE_NAMES:
        service_process(settings, name).start()
        console.print(f"  {name:<11} ready")


@dataclass(frozen=True)
class DemoPeriod:
    """The month that has just closed, and when the demo's subscriptions started in it."""

    start: datetime
    end: datetime
    subscribed_at: datetime

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    @classmethod
    def last_closed(cls, now: datetime, usage_horizon: timedelta) -> DemoPeriod:
        end = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        start = (end - timedelta(days=1)).replace(day=1)
        # Late in the month, its start is beyond the usage horizon (ingest's event age limit):
        # the subscriptions then start a day inside it, still in the closed month.
        earliest = (now - usage_horizon + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        return cls(start, end, max(start + timedelta(hours=9), earliest))


def _demo_operator(api: httpx.Client, settings: Settings, run: str) -> tuple[dict[str, str], dict[str, str]]:
    """A finance operator of this run, made with the bootstrap token (its only use): plans need one.
    Its Authorization header, and its email and password (printed for the web app's sign-in)."""
    login = {"email": f"finance-{run}@demo.meterline.test", "password": "demo-" + secrets.token_urlsafe(24)}
    _check(api.post("/v1/operator/accounts", json={**login, "role": "finance"},
                    headers={"Authorization": f"Bearer {settings.api.operator_token.get_secret_value()}"}),
           "creating the demo's finance operator")
    token = _check(api.post("/v1/operator/auth/login", json=login), "signing the operator in")
    return {"Authorization": f"Bearer {token['access_token']}"}, login


def _register(api: httpx.Client, operator: dict[str, str], plan_slug: str, run: str,
              period: DemoPeriod) -> list[DemoTenant]:
    console.rule("[bold]Registering tenants")
    _check(api.post("/v1/plans", headers=operator, json={
        "slug": plan_slug, "name": "Demo Pro", "currency": "USD", "flat_fee": str(FLAT_FEE),
        "charges": [
            {"model": "unit", "meter_slug": "api-calls", "unit_price": str(CALL_PRICE)},
            {"model": "unit", "meter_slug": "llm-tokens", "unit_price": str(TOKEN_PRICE)},
        ],
    }), "creating the plan")
    tenants = []
    for name in ("acme", "globex", "initech"):
        slug = f"{name}-{run}"
        password = secrets.token_urlsafe(12)
        body = _check(api.post("/v1/tenants", json={
            "slug": slug, "name": name.title(), "owner_email": f"owner@{slug}.example",
            "owner_password": password,
        }), f"registering {slug}")
        tenant = DemoTenant(slug, body["tenant"]["id"], body["api_key"]["key"], body["access_token"]["access_token"],
                            email=f"owner@{slug}.example", password=password)
        auth = {"Authorization": f"Bearer {tenant.token}"}
        _check(api.post("/v1/meters", headers=auth, json={
            "slug": "api-calls", "event_type": "api.call", "aggregation": "COUNT"}), "creating a meter")
        _check(api.post("/v1/meters", headers=auth, json={
            "slug": "llm-tokens", "event_type": "llm.completion", "aggregation": "SUM", "value_path": "tokens"}),
            "creating a meter")
        # Migrated in: a subscription that started in the closed month (operators only).
        subscription = _check(api.post(f"/v1/operator/tenants/{tenant.tenant_id}/subscriptions", headers=operator,
                                       json={"plan_slug": plan_slug, "started_at": period.subscribed_at.isoformat()}),
                              "subscribing from last month")
        tenant.subscribed_at = datetime.fromisoformat(subscription["started_at"])
        console.print(f"  {slug}: meters api-calls, llm-tokens; plan {plan_slug} since {tenant.subscribed_at:%Y-%m-%d %H:%M}")
        tenants.append(tenant)
    return tenants


def _event(tenant: DemoTenant, rng: random.Random, until: datetime) -> dict:
    # Usage counts from the subscription's start: spread events between it and the period's end.
    at = tenant.subscribed_at + (until - tenant.subscribed_at) * rng.random()
    event_id = uuid.uuid4().hex
    if rng.random() < 0.7:
        tenant.calls += 1
        event = {"type": "api.call", "data": {"path": "/v1/search"}}
    else:
        tokens = rng.randint(10, 4000)
        tenant.tokens += tokens
        event = {"type": "llm.completion", "data": {"tokens": tokens, "model": "small"}}
    return {"id": event_id, "source": "demo", "subject": f"user-{rng.randint(1, 50)}",
            "time": at.isoformat(), "specversion": "1.0", **event}


def _push(ingest: httpx.Client, tenants: list[DemoTenant], events: int, period: DemoPeriod) -> None:
    console.rule(f"[bold]Pushing {period.label}'s usage through POST /v1/events")
    rng = random.Random(7)
    until = period.end - timedelta(microseconds=1)
    started = time.monotonic()
    with Progress(console=console) as progress:
        bar = progress.add_task("events", total=events)
        sent = 0
        while sent < events:
            tenant = tenants[(sent // BATCH) % len(tenants)]
            batch = [_event(tenant, rng, until) for _ in range(min(BATCH, events - sent))]
            if sent == 0:
                batch.append(dict(batch[0]))  # a client retry: the duplicate id is counted once
            for attempt in range(5):
                response = ingest.post("/v1/events", json=batch, headers={"Authorization": f"Bearer {tenant.api_key}"})
                if response.status_code in (429, 503):
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                _check(response, "sending events")
                break
            sent += min(BATCH, events - sent)
            progress.update(bar, completed=sent)
    elapsed = time.monotonic() - started
    console.print(f"  {events:,} events accepted in {elapsed:.1f}s ({events / elapsed:,.0f} events/s over HTTP)")


def _wait_for_usage(api: httpx.Client, tenants: list[DemoTenant], period: DemoPeriod, timeout_s: float = 120) -> None:
    console.rule("[bold]Usage arriving (ClickHouse, through the admin API)")
    params = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    deadline = time.monotonic() + timeout_s
    pending = {t.slug for t in tenants}
    while pending and time.monotonic() < deadline:
        for tenant in tenants:
            if tenant.slug not in pending:
                continue
            auth = {"Authorization": f"Bearer {tenant.token}"}
            calls = Decimal(_check(api.get("/v1/usage", headers=auth, params={**params, "meter": "api-calls"}), "usage")["total_quantity"])
            tokens = Decimal(_check(api.get("/v1/usage", headers=auth, params={**params, "meter": "llm-tokens"}), "usage")["total_quantity"])
            console.print(f"  {tenant.slug}: api-calls {calls:,} / {tenant.calls:,}, llm-tokens {tokens:,} / {tenant.tokens:,}")
            if calls == tenant.calls and tokens == tenant.tokens:
                pending.discard(tenant.slug)
        if pending:
            time.sleep(1)
    if pending:
        raise SystemExit(f"usage did not arrive for {sorted(pending)} within {timeout_s:.0f}s")


def _run_invoices(api: httpx.Client, operator: dict, tenants: list[DemoTenant], period: DemoPeriod,
                  timeout_s: float = 180) -> dict:
    """An invoice run for the closed month, started as finance would over the operators'
    API: a flow run of the generate-invoices deployment, followed until it has reported."""
    run = _check(api.post("/v1/operator/invoice-runs", headers=operator, json={
        "period": period.label, "tenants": [t.tenant_id for t in tenants]}), "starting the invoice run")
    console.print(f"  flow run {run['name']} of generate-invoices/monthly: {run['ui_url']}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = _check(api.get(f"/v1/operator/invoice-runs/{run['id']}", headers=operator), "following the run")
        if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") and run["outcomes"] is not None:
            console.print(f"  {run['state']}")
            return run
        time.sleep(1)
    raise SystemExit(f"the invoice run {run['ui_url']} did not finish within {timeout_s:.0f}s (state {run['state']})")


def _invoice(api: httpx.Client, operator: dict[str, str], tenants: list[DemoTenant],
             period: DemoPeriod) -> tuple[bool, dict]:
    console.rule(f"[bold]Invoicing {period.label}, closed on {period.end:%Y-%m-%d}, through the Prefect deployment")
    run = _run_invoices(api, operator, tenants, period)
    outcomes = {row["tenant_id"]: row for row in run["outcomes"]}
    all_match = True
    for tenant in tenants:
        outcome = outcomes.get(tenant.tenant_id)
        if outcome is None or outcome["status"] == "failed":
            console.print(f"  [red]{tenant.slug} not invoiced: {outcome and outcome['failure_reason']}")
            all_match = False
            continue
        invoice = _check(api.get(f"/v1/invoices/{outcome['invoice_number']}",
                                 headers={"Authorization": f"Bearer {tenant.token}"}), "reading the invoice")
        table = Table(title=f"{invoice['number']}  ({tenant.slug}, {invoice['status']})", show_lines=False)
        table.add_column("line")
        table.add_column("amount", justify="right")
        for line in invoice["lines"]:
            table.add_row(line["description"], f"{Decimal(line['amount_minor']) / 100:,.2f}")
        table.add_row("[bold]total", f"[bold]{Decimal(invoice['total_minor']) / 100:,.2f} {invoice['currency']}")
        console.print(table)
        expected = tenant.expected_total_minor(period.start, period.end)
        match = invoice["total_minor"] == expected
        all_match &= match
        console.print(f"  expected from pushed usage: {Decimal(expected) / 100:,.2f} USD "
                      + ("[green]matches[/]" if match else "[red]DIFFERS[/]"))
    return all_match, run


def _print_web_app(settings: Settings, tenant: DemoTenant, operator_login: dict[str, str]) -> None:
    app = f"http://{settings.api.host}:{settings.api.port}/"
    if not (settings.web.dist_dir / "index.html").is_file():
        console.print(f"  Web app          {app} [yellow](not built: run make install)[/]")
        return
    console.print(f"  Web app          [bold]{app}[/]")
    console.print(f"    sign in as     {tenant.email}  password {tenant.password}  (owner of {tenant.slug})")
    # The demo's own finance operator, made for this run: the bootstrap token opens no page.
    console.print(f"    or, Operator tab, {operator_login['email']}  password {operator_login['password']}  (finance)")


def run_demo(settings: Settings, events: int = 20_000) -> int:
    from meterline.bootstrap import usage_horizon

    _start_stack(settings)
    run = secrets.token_hex(2)
    period = DemoPeriod.last_closed(datetime.now(timezone.utc), usage_horizon(settings))
    with httpx.Client(base_url=f"http://{settings.api.host}:{settings.api.port}", timeout=30) as api, \
            httpx.Client(base_url=f"http://{settings.ingest.host}:{settings.ingest.port}", timeout=30) as ingest:
        operator, operator_login = _demo_operator(api, settings, run)  # finance: plans, invoice runs
        tenants = _register(api, operator, f"demo-pro-{run}", run, period)
        _push(ingest, tenants, events, period)
        _wait_for_usage(api, tenants, period)
        ok, invoice_run = _invoice(api, operator, tenants, period)
    console.rule("[bold]Where to look")
    console.print(f"  Invoice run      {invoice_run['ui_url']}  (table and summary: its Artifacts tab)")
    console.print(f"  Run it yourself  {invoice_run['deployment_url']}  (Run > Custom run: period, tenants, dry_run)")
    _print_web_app(settings, tenants[0], operator_login)
    console.print(f"  Admin API docs   http://{settings.api.host}:{settings.api.port}/docs")
    console.print(f"  Ingest API docs  http://{settings.ingest.host}:{settings.ingest.port}/docs")
    console.print(f"  Prefect UI       http://127.0.0.1:{settings.prefect.port}")
    console.print(f"  Stripe (local)   {settings.stripe_api_base}/v1/invoices")
    console.print("  Stop everything: .venv/bin/meterline stack down")
    return 0 if ok else 1
