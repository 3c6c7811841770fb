"""Operator analytics through the real API and PostgreSQL, with invoices issued by the real
invoice flow (Prefect, localstripe).

Five tenants live through January to June 2025 (a year no other test touches) on a clock
the test sets (`get_now` of both the subscriptions and the analytics areas): subscriptions,
upgrades, downgrades, a free-to-paid move, cancellations now and at period end, a return.
The test keeps its own log of what it did, with the instants the API answered, and computes
every expected figure from that log (`Ledger`), independently of billing_jobs.analytics;
revenue is recomputed from the tenants' invoices as the invoices API lists them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.analytics.deps import get_now as analytics_now
from api.subscriptions.deps import get_now as subscriptions_now
from flows.invoicing import generate_invoices
from meterline.settings import Settings
from metering import NO_GROUP, UsageDelta
from tests.support.admin_api import Clock, asgi_client, registered_owner
from tests.support.operators import bootstrap_headers, operator_headers
from warehouse.postgres.usage import upsert_usage

pytestmark = pytest.mark.integration

ISSUED = {"open", "paid", "payment_failed"}  # written out here, not imported: the test's own reading of the docs


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=timezone.utc)


def month_start(month: int) -> datetime:
    return datetime(2025 + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=timezone.utc)


@dataclass
class Ledger:
    """What the test did, as (instant, tenant, kind, fee, currency); kind: subscribe, change, cancel."""

    actions: list[tuple[datetime, str, str, Decimal | None, str | None]] = field(default_factory=list)

    def record(self, instant: str, tenant: str, kind: str, fee: str | None = None, currency: str | None = None) -> None:
        when = datetime.fromisoformat(instant.replace("Z", "+00:00"))
        self.actions.append((when, tenant, kind, None if fee is None else Decimal(fee), currency))

    def state_before(self, tenant: str, instant: datetime) -> tuple[Decimal, str] | None:
        """(fee, currency) of the tenant's subscription just before `instant`; None if none."""
        state = None
        for when, who, kind, fee, currency in sorted(self.actions, key=lambda a: a[0]):
            if who == tenant and when < instant:
                state = None if kind == "cancel" else (fee, currency)
        return state

    def tenants(self) -> list[str]:
        return sorted({a[1] for a in self.actions})

    def paid_before(self, tenant: str, currency: str, instant: datetime) -> bool:
        return any(who == tenant and cur == currency and fee and when < instant
                   for when, who, _, fee, cur in self.actions)

    def count(self, kind: str, start: datetime, end: datetime) -> int:
        return sum(1 for when, _, k, _, _ in self.actions if k == kind and start <= when < end)


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(at(1, 1))


@pytest.fixture(scope="module")
async def client(stack: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(stack, {subscriptions_now: clock, analytics_now: clock}) as http:
        yield http


async def new_plan(client: httpx.AsyncClient, operator: dict[str, str], flat_fee: str, currency: str = "USD") -> str:
    slug = "ap" + uuid.uuid4().hex[:10]
    response = await client.post("/v1/plans", headers=operator, json={
        "slug": slug, "name": f"Plan {flat_fee}", "currency": currency, "flat_fee": flat_fee,
        "charges": [{"model": "unit", "meter_slug": "api", "unit_price": "0.01"}]})
    assert response.status_code == 201, response.text
    return slug


async def seed_calls(pg: AsyncEngine, tenant_id: str, calls: list[tuple[datetime, int]]) -> None:
    """As the stream writes them: each delta into its hour's and its day's window."""
    async with pg.begin() as conn:
        await upsert_usage(conn, uuid.UUID(tenant_id), [
            (resolution, "api", NO_GROUP, window.replace(hour=0) if resolution == "day" else window, "SUM",
             UsageDelta(Decimal(n), n))
            for window, n in calls for resolution in ("hour", "day")])


def months_between(first: int, last: int) -> list[int]:
    return list(range(first, last + 1))


def label(month: int) -> str:
    start = month_start(month)
    return f"{start.year:04d}-{start.month:02d}"


def expected_mrr(ledger: Ledger, months: list[int], now: datetime) -> list[dict]:
    rows = []
    for month in months:
        start, close = month_start(month), min(month_start(month + 1), now)
        for currency in ("EUR", "USD"):
            def paying(instant: datetime) -> dict[str, Decimal]:
                states = {t: ledger.state_before(t, instant) for t in ledger.tenants()}
                return {t: s[0] for t, s in states.items() if s and s[1] == currency and s[0] > 0}
            before, after = paying(start), paying(close)
            moves = defaultdict(Decimal)
            for tenant in before.keys() | after.keys():
                old, new = before.get(tenant, Decimal(0)), after.get(tenant, Decimal(0))
                if not old and new:
                    moves["reactivation" if ledger.paid_before(tenant, currency, start) else "new"] += new
                elif old and not new:
                    moves["churn"] += old
                elif new != old:
                    moves["expansion" if new > old else "contraction"] += abs(new - old)
            mrr = sum(after.values(), Decimal(0))
            rows.append({"month": label(month), "currency": currency, "starting_mrr": sum(before.values(), Decimal(0)),
                         **{k: moves[k] for k in ("new", "expansion", "contraction", "churn", "reactivation")},
                         "mrr": mrr, "arr": mrr * 12, "paying_tenants": len(after)})
    return rows


def expected_subscriptions(ledger: Ledger, months: list[int], now: datetime) -> list[dict]:
    rows = []
    for month in months:
        start, close = month_start(month), min(month_start(month + 1), now)
        active = [sum(1 for t in ledger.tenants() if ledger.state_before(t, i)) for i in (start, close)]
        rows.append({"month": label(month), "active_at_start": active[0],
                     "started": ledger.count("subscribe", start, close),
                     "canceled": ledger.count("cancel", start, close), "active_at_end": active[1]})
    return rows


def as_decimals(rows: list[dict]) -> list[dict]:
    """The API's decimal strings as Decimals (so "100.00" equals 100)."""
    return [{k: Decimal(v) if isinstance(v, str) and k not in ("month", "currency", "key", "tenant_id",
                                                                 "tenant_slug", "meter_slug", "aggregation") else v
             for k, v in row.items()} for row in rows]


async def analytics(client: httpx.AsyncClient, operator: dict[str, str], path: str, first: int, last: int,
                    tenants: list[str], **params) -> list[dict]:
    response = await client.get(f"/v1/operator/analytics/{path}", headers=operator, params={
        "from": label(first), "months": last - first + 1, "tenant_id": tenants, **params})
    assert response.status_code == 200, response.text
    return as_decimals(response.json()["rows"])


async def check_recurring(client, operator, tenants: list[str], ledger: Ledger, last: int, now: datetime) -> None:
    months = months_between(1, last)
    mrr = expected_mrr(ledger, months, now)
    assert await analytics(client, operator, "mrr", 1, last, tenants) == mrr
    arpu = [{"month": r["month"], "currency": r["currency"], "mrr": r["mrr"], "paying_tenants": r["paying_tenants"],
             "arpu": (r["mrr"] / r["paying_tenants"]).quantize(Decimal("0.01"), ROUND_HALF_UP)
             if r["paying_tenants"] else None} for r in mrr]
    assert await analytics(client, operator, "arpu", 1, last, tenants) == arpu
    subscriptions = expected_subscriptions(ledger, months, now)
    assert await analytics(client, operator, "subscriptions", 1, last, tenants) == subscriptions
    churn = [{"month": s["month"], "active_at_start": s["active_at_start"], "cancellations": s["canceled"],
              "rate": (Decimal(s["canceled"]) / s["active_at_start"]).quantize(Decimal("0.0001"), ROUND_HALF_UP)
              if s["active_at_start"] else None} for s in subscriptions]
    assert await analytics(client, operator, "churn", 1, last, tenants) == churn


@dataclass
class Scenario:
    operator: dict[str, str]
    ids: dict[str, str]  # name -> tenant id
    slugs: dict[str, str]
    owners: dict[str, dict[str, str]]
    ledger: Ledger


async def _act(client, clock, ledger, owners, plans, when: datetime, name: str, action: str, plan: str = "") -> None:
    clock.now = when
    headers = owners[name]
    if action == "subscribe":
        response = await client.post("/v1/subscriptions", headers=headers, json={"plan_slug": plans[plan][0]})
    elif action == "change":
        response = await client.post("/v1/subscriptions/current/change-plan", headers=headers,
                                     json={"plan_slug": plans[plan][0]})
    else:
        response = await client.post("/v1/subscriptions/current/cancel", headers=headers,
                                     json={"at_period_end": action == "cancel_at_period_end"})
    assert response.status_code in (200, 201), response.text
    body = response.json()
    if action in ("subscribe", "change"):
        ledger.record(body["started_at"], name, action, *plans[plan][1:])
    else:
        ledger.record(body["canceled_at"], name, "cancel")


@pytest.fixture(scope="module")
async def finance(client: httpx.AsyncClient, stack: Settings) -> dict[str, str]:
    """A finance operator: writes plans and reads every figure (api/operator_roles.py)."""
    return await operator_headers(client, stack, "finance")


@pytest.fixture(scope="module")
async def scenario(client: httpx.AsyncClient, pg: AsyncEngine, finance: dict[str, str], clock: Clock) -> Scenario:
    operator = finance
    plans = {name: (await new_plan(client, operator, fee, currency), fee, currency)
             for name, fee, currency in [("free", "0", "USD"), ("basic", "100.00", "USD"), ("pro", "250.00", "USD"),
                                         ("eur", "40.00", "EUR")]}
    ids, slugs, owners = {}, {}, {}
    for name in "abcde":
        ids[name], slugs[name], owners[name] = await registered_owner(client)
    ledger = Ledger()
    for when, name, action, plan in [
        (at(1, 5), "d", "subscribe", "free"),
        (at(1, 10), "a", "subscribe", "basic"),
        (at(1, 20), "b", "subscribe", "basic"),
        (at(2, 3), "c", "subscribe", "eur"),
        (at(2, 15), "a", "change", "pro"),             # upgrade: expansion
        (at(2, 20), "c", "cancel_at_period_end", ""),  # ends 1 March: churn in March
        (at(3, 3), "e", "subscribe", "basic"),
        (at(3, 10), "b", "cancel_now", ""),
        (at(3, 12), "d", "change", "basic"),           # free to paid: new
        (at(3, 25), "e", "cancel_now", ""),            # in and out within March
        (at(4, 5), "a", "change", "basic"),            # downgrade: contraction
        (at(4, 20), "b", "subscribe", "pro"),          # back: reactivation
        # Everyone still subscribed leaves at the end of May (in force until then), so
        # nothing stays open for other tests' periods.
        (at(5, 20), "a", "cancel_at_period_end", ""),
        (at(5, 20), "b", "cancel_at_period_end", ""),
        (at(5, 20), "d", "cancel_at_period_end", ""),
    ]:
        await _act(client, clock, ledger, owners, plans, when, name, action, plan)
    await seed_calls(pg, ids["a"], [(at(1, 15, 10), 300), (at(2, 2, 8), 50)])
    await seed_calls(pg, ids["b"], [(at(1, 25, 14), 30)])
    await seed_calls(pg, ids["e"], [(at(3, 5, 1), 7)])
    return Scenario(operator, ids, slugs, owners, ledger)


async def test_recurring_figures_match_the_test_ledger_as_of_mid_may_then_after_every_end(client, clock, scenario):
    tenants = list(scenario.ids.values())
    # Mid-May, May is read as of now: the cancellations scheduled for 1 June do not show yet.
    clock.now = at(5, 20)
    await check_recurring(client, scenario.operator, tenants, scenario.ledger, 5, clock.now)

    # Worked by hand, so the ledger above is checked too: a 100, b 100 -> a 250 (February);
    # b leaves, d moves from free to 100, e comes and goes (March); a to 100, b back at 250 (April).
    by_month = {(r["month"], r["currency"]): r
                for r in await analytics(client, scenario.operator, "mrr", 1, 5, tenants)}
    assert (by_month["2025-02", "USD"]["expansion"], by_month["2025-02", "USD"]["mrr"]) == (150, 350)
    march = by_month["2025-03", "USD"]
    assert (march["churn"], march["new"], march["mrr"], by_month["2025-03", "EUR"]["churn"]) == (100, 100, 350, 40)
    april = by_month["2025-04", "USD"]
    assert (april["contraction"], april["reactivation"], april["mrr"], april["arr"]) == (150, 250, 450, 5400)
    [march_churn] = [r for r in await analytics(client, scenario.operator, "churn", 3, 3, tenants)]
    # In force at its start: a, b, d and c (ending 1 March); cancelled in it: c, b and e.
    assert (march_churn["active_at_start"], march_churn["cancellations"], march_churn["rate"]) == (4, 3,
                                                                                                  Decimal("0.75"))

    clock.now = at(6, 15)
    await check_recurring(client, scenario.operator, tenants, scenario.ledger, 6, clock.now)
    [june] = [r for r in await analytics(client, scenario.operator, "mrr", 6, 6, tenants) if r["currency"] == "USD"]
    assert (june["starting_mrr"], june["churn"], june["mrr"]) == (450, 450, 0)


def _amount(minor: int) -> Decimal:
    return Decimal(minor) / 100  # USD and EUR: cents


async def test_revenue_and_usage_match_the_issued_invoices_and_the_seeded_usage(client, clock, scenario):
    tenants = list(scenario.ids.values())
    for name, months in [("a", (1, 2, 3)), ("b", (1, 2, 3)), ("c", (2, 3)), ("d", (3,))]:
        for month in months:
            generate_invoices(period=label(month), tenants=[scenario.ids[name]])
    clock.now = at(6, 15)

    # The expected figures, from the invoices as each tenant's own invoices API lists them.
    by: dict[str, dict[tuple, Decimal]] = {"tenant": defaultdict(Decimal), "plan": defaultdict(Decimal),
                                           "meter": defaultdict(Decimal)}
    per_tenant: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    issued = 0
    for name, owner in scenario.owners.items():
        response = await client.get("/v1/invoices", headers=owner)
        assert response.status_code == 200, response.text
        for invoice in response.json():
            if invoice["status"] not in ISSUED or not "2025-01" <= invoice["period_start"][:7] <= "2025-06":
                continue
            issued += 1
            month, currency = invoice["period_start"][:7], invoice["currency"]
            for line in invoice["lines"]:
                amount = _amount(line["amount_minor"])
                by["tenant"][month, currency, scenario.slugs[name]] += amount
                by["plan"][month, currency, invoice["plan_slug"]] += amount
                by["meter"][month, currency, line["meter_slug"]] += amount
                per_tenant[currency, scenario.slugs[name]] += amount
    assert issued >= 8  # the flow issued what it was asked to: the comparisons below are not vacuous
    for dimension, totals in by.items():
        expected = [{"month": m, "currency": c, "key": k, "amount": v}
                    for (m, c, k), v in sorted(totals.items(), key=lambda i: (i[0][0], i[0][1], i[0][2] or ""))]
        assert await analytics(client, scenario.operator, "revenue", 1, 6, tenants, by=dimension) == expected
    top = sorted(per_tenant.items(), key=lambda i: (i[0][0], -i[1], i[0][1]))
    expected_top = [{"tenant_id": scenario.ids[next(n for n, s in scenario.slugs.items() if s == slug)],
                     "tenant_slug": slug, "currency": currency, "amount": amount}
                    for (currency, slug), amount in top
                    if sum(1 for (c, s), a in top if c == currency and (-a, s) < (-amount, slug)) < 2]
    assert await analytics(client, scenario.operator, "revenue/top", 1, 6, tenants, limit=2) == expected_top

    usage = [{"tenant_id": scenario.ids[name], "tenant_slug": scenario.slugs[name], "month": month,
              "meter_slug": "api", "aggregation": "SUM", "events": n, "quantity": Decimal(n)}
             for name, month, n in [("a", "2025-01", 300), ("a", "2025-02", 50), ("b", "2025-01", 30),
                                    ("e", "2025-03", 7)]]
    usage.sort(key=lambda r: (r["tenant_slug"], r["month"]))
    assert await analytics(client, scenario.operator, "usage", 1, 6, tenants) == usage
    ranked = sorted([(scenario.slugs["a"], 350, "a"), (scenario.slugs["b"], 30, "b"), (scenario.slugs["e"], 7, "e")],
                    key=lambda r: (-r[1], r[0]))[:2]
    assert await analytics(client, scenario.operator, "usage/top", 1, 6, tenants, limit=2) == [
        {"tenant_id": scenario.ids[name], "tenant_slug": slug, "events": events} for slug, events, name in ranked]


@pytest.mark.parametrize(("params", "field"), [
    pytest.param({"from": "2025-13"}, "from", id="not-a-month"),
    pytest.param({"from": "1999-12"}, "from", id="before-2000"),
    pytest.param({"from": "2025-1"}, "from", id="not-zero-padded"),
    pytest.param({"from": "2025-01", "months": 0}, "months", id="no-months"),
    pytest.param({"from": "2025-01", "months": 121}, "months", id="too-many-months"),
    pytest.param({"months": 3}, "from", id="from-missing"),
    pytest.param({"from": "2025-01", "tenant_id": "nope"}, "tenant_id", id="tenant-not-a-uuid"),
])
async def test_bad_ranges_are_422_in_the_error_shape(client, clock, finance, params, field):
    clock.now = at(6, 15)
    for path in ("mrr", "arpu", "subscriptions", "churn", "revenue", "revenue/top", "usage", "usage/top"):
        response = await client.get(f"/v1/operator/analytics/{path}", params=params,
                                    headers=finance)
        assert response.status_code == 422, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error" and error["details"][0]["field"].startswith(field), error
        assert error["details"][0]["location"] == "query"


async def test_months_not_begun_are_left_out(client, clock, finance, scenario):
    operator = finance
    clock.now = at(6, 15)
    params = {"from": "2025-05", "months": 12, "tenant_id": list(scenario.ids.values())}
    for path in ("subscriptions", "churn"):
        response = await client.get(f"/v1/operator/analytics/{path}", params=params, headers=operator)
        assert [row["month"] for row in response.json()["rows"]] == ["2025-05", "2025-06"]
    future = await client.get("/v1/operator/analytics/mrr", params={**params, "from": "2025-07"}, headers=operator)
    assert (future.status_code, future.json()["rows"]) == (200, [])


async def test_only_operators_read_analytics(client, clock, stack, finance):
    clock.now = at(6, 15)
    _, _, owner = await registered_owner(client)
    params = {"from": "2025-01", "months": 6}
    operator = finance
    sre = await operator_headers(client, stack, "sre")
    for path, extra in [("revenue", {"by": "bogus"}), ("revenue/top", {"limit": 0}), ("usage/top", {"limit": 101})]:
        response = await client.get(f"/v1/operator/analytics/{path}", params={**params, **extra}, headers=operator)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] in ("by", "limit")
    for path in ("mrr", "churn", "revenue", "usage/top"):
        assert (await client.get(f"/v1/operator/analytics/{path}", params=params)).status_code == 401
        # A tenant's owner token is not an operator token, nor is the static bootstrap token.
        tenant_owner = await client.get(f"/v1/operator/analytics/{path}", params=params, headers=owner)
        assert tenant_owner.status_code == 401 and tenant_owner.json()["error"]["code"] == "invalid_token"
        bootstrap = await client.get(f"/v1/operator/analytics/{path}", params=params, headers=bootstrap_headers(stack))
        assert bootstrap.status_code == 401, bootstrap.text
        # SREs read every figure too (the role table).
        assert (await client.get(f"/v1/operator/analytics/{path}", params=params, headers=sre)).status_code == 200
