"""The operator console in Debian's chromium: operators (finance, sre) made with the bootstrap
token sign in with email and password, are offered only their role's sections, and the
numbers on screen equal the operator API's for the same query."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from meterline.bootstrap import usage_horizon
from meterline.demo import DemoPeriod
from tests.support.operators import bootstrap_headers, new_operator_body
from tests.support.web import push_events, register_tenant, screenshot_dir, wait_for_totals

from .pages import en_us_quantity, shot, shown_decimal, sign_in, sign_in_operator

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def _operator(api, settings, role: str) -> dict:
    body = new_operator_body(role)
    created = api.post("/v1/operator/accounts", json=body, headers=bootstrap_headers(settings))
    assert created.status_code == 201, created.text
    login = api.post("/v1/operator/auth/login", json={"email": body["email"], "password": body["password"]})
    assert login.status_code == 200, login.text
    return {**body, "auth": {"Authorization": f"Bearer {login.json()['access_token']}"}}


@pytest.fixture(scope="module")
def finance(api, app_stack) -> dict:
    return _operator(api, app_stack, "finance")


@pytest.fixture(scope="module")
def sre(api, app_stack) -> dict:
    return _operator(api, app_stack, "sre")


def _nav(page) -> list[str]:
    return page.get_by_role("navigation").get_by_role("link").all_text_contents()


def test_finance_console_charts_and_tables_equal_the_analytics_api(page, app_url, api, app_stack, finance,
                                                                   tenant_with_usage):
    sign_in_operator(page, app_url, finance["email"], finance["password"])
    assert _nav(page) == ["Operator console", "Tenants", "Invoice runs"]  # finance: no pipeline section
    assert page.get_by_test_id("who").text_content() == f"{finance['email']} · finance operator"
    with page.expect_response(lambda r: "/v1/operator/analytics/mrr" in r.url) as answered:
        page.get_by_label("Months").select_option("3")
    params = parse_qsl(urlsplit(answered.value.url).query)
    mrr = api.get("/v1/operator/analytics/mrr", params=params, headers=finance["auth"]).json()
    page.get_by_test_id("mrr-table").wait_for()
    assert mrr["rows"], "the subscribed tenants make MRR"
    # The shared test database holds other tests' plans too, in euros and yen: each in its own money.
    symbols, fraction_digits = {"USD": "$", "EUR": "€", "JPY": "¥"}, {"JPY": 0}
    for row in mrr["rows"]:
        shown = page.get_by_test_id(f"mrr-{row['month']}-{row['currency']}").text_content()
        symbol = symbols[row["currency"]]
        exact = Decimal(row["mrr"]).quantize(Decimal(1).scaleb(-fraction_digits.get(row["currency"], 2)))
        assert shown.startswith(symbol) and shown_decimal(shown[len(symbol):]) == exact, (row, shown)
    top = api.get("/v1/operator/analytics/usage/top", params=params + [("limit", "10")], headers=finance["auth"]).json()
    ranked = page.get_by_test_id("top-usage").locator("li")
    ranked.first.wait_for()
    assert ranked.locator("span:first-child").all_text_contents() == [t["tenant_slug"] for t in top["rows"]]
    assert [int(s.removesuffix(" events").replace(",", "")) for s in ranked.locator("span.num").all_text_contents()] \
        == [t["events"] for t in top["rows"]]
    assert page.locator(".chart svg").count() >= 5
    shot(page, screenshot_dir(app_stack), "operator-console-finance")


def test_sre_is_offered_the_pipeline_and_not_invoice_runs(page, app_url, api, app_stack, sre, tenant_with_usage):
    sign_in_operator(page, app_url, sre["email"], sre["password"])
    assert _nav(page) == ["Operator console", "Tenants", "Pipeline"]
    page.goto(app_url + "/operator/invoice-runs")
    page.get_by_role("heading", name="Operator console").wait_for()  # sent back: not finance's page
    refused = api.post("/v1/operator/invoice-runs", json={"period": "2026-01", "dry_run": True}, headers=sre["auth"])
    assert refused.status_code == 403  # and the API refuses it anyway
    answers: dict[str, dict] = {}
    page.on("response", lambda r: answers.__setitem__((body := r.json())["as_of"], body)
            if r.url.endswith("/v1/operator/analytics/pipeline") and r.ok else None)
    page.get_by_role("navigation").get_by_role("link", name="Pipeline").click()
    page.get_by_test_id("lag-table").wait_for()
    page.get_by_test_id("pipeline-table").wait_for()
    # Read in one go (the page refreshes every 5 s), then compare with the answer it shows.
    shown = page.evaluate("""() => ({
        asOf: document.querySelector('[data-testid=as-of]').dataset.asOf,
        events: document.querySelector('[data-testid=ingest-events]').textContent,
        deadHour: document.querySelector('[data-testid=dead-letters-hour]').textContent,
        lag: [...document.querySelectorAll('[data-testid=lag-table] tbody tr')].map(r =>
            [...r.querySelectorAll('td')].map(c => c.textContent)),
        months: [...document.querySelectorAll('[data-testid=pipeline-table] tr')].map(r =>
            [...r.querySelectorAll('td')].map(c => c.textContent)) })""")
    health = answers[shown["asOf"]]
    assert int(shown["events"].replace(",", "")) == sum(m["events"] for m in health["ingest_per_minute"])
    assert int(shown["deadHour"].replace(",", "")) == health["dead_letters_last_hour"]
    assert [[int(c.replace(",", "")) for c in row[:4]] for row in shown["lag"]] == [
        [p["partition"], p["end_offset"], p["committed_offset"], p["lag_records"]] for p in health["lag"]]
    own = api.get("/v1/operator/analytics/pipeline", headers=sre["auth"]).json()
    assert len(own["lag"]) == app_stack.kafka.events_partitions and own["unavailable"] == {}
    now = datetime.now(timezone.utc)
    first = f"{now.year - (now.month <= 5)}-{(now.month - 6) % 12 + 1:02d}"
    usage = api.get("/v1/operator/analytics/usage", params={"from": first, "months": 6}, headers=sre["auth"]).json()
    per_month: dict[str, int] = {}
    for row in usage["rows"]:
        per_month[row["month"]] = per_month.get(row["month"], 0) + row["events"]
    assert {month: int(text.split()[0].replace(",", "")) for month, text in shown["months"]} == per_month
    assert per_month
    shot(page, screenshot_dir(app_stack), "operator-pipeline-sre")


def test_tenants_list_equals_the_api_and_suspend_resume_work(page, app_url, api, app_stack, finance, plan):
    tenant = register_tenant(api, plan, meters=False)
    sign_in_operator(page, app_url, finance["email"], finance["password"])
    page.get_by_role("navigation").get_by_role("link", name="Tenants").click()
    page.get_by_test_id("tenants-table").wait_for()
    listed = api.get("/v1/operator/tenants", params={"limit": 50}, headers=finance["auth"]).json()["tenants"]
    for row in listed:
        shown = page.get_by_test_id(f"tenant-{row['slug']}")
        assert shown.get_by_test_id("status").locator(".badge").text_content() == row["status"]
        assert shown.get_by_test_id("plan").text_content().startswith(row["plan_slug"] or "–")
    row = page.get_by_test_id(f"tenant-{tenant.slug}")
    if not row.count():  # beyond the first page: the list pages by slug
        while not row.count():
            page.get_by_role("button", name="Load more tenants").click()
            page.wait_for_timeout(300)
    row.get_by_role("button", name=f"Suspend {tenant.slug}").click()
    row.get_by_label(f"Why suspend {tenant.slug}?").fill("web test: abusive traffic")
    row.get_by_role("button", name=f"Suspend {tenant.slug}").click()
    row.get_by_role("button", name=f"Resume {tenant.slug}").wait_for()
    assert "web test: abusive traffic" in row.get_by_test_id("status").text_content()
    standing = api.get("/v1/tenant", headers=tenant.auth).json()
    assert (standing["status"], standing["status_reason"]) == ("suspended", "web test: abusive traffic")
    shot(page, screenshot_dir(app_stack), "operator-tenants")
    row.get_by_role("button", name=f"Resume {tenant.slug}").click()
    row.get_by_role("button", name=f"Suspend {tenant.slug}").wait_for()
    assert api.get("/v1/tenant", headers=tenant.auth).json()["status"] == "active"


def test_dry_run_outcomes_equal_the_api_and_an_open_month_is_explained(page, app_url, api, app_stack, flows_service,
                                                                        finance, plan):
    period = DemoPeriod.last_closed(datetime.now(timezone.utc), usage_horizon(app_stack))
    tenant = register_tenant(api, None, meters=False)
    migrated = api.post(f"/v1/operator/tenants/{tenant.tenant_id}/subscriptions", headers=finance["auth"],
                        json={"plan_slug": plan, "started_at": period.subscribed_at.isoformat()})
    assert migrated.status_code < 300, migrated.text
    sign_in_operator(page, app_url, finance["email"], finance["password"])
    page.get_by_role("navigation").get_by_role("link", name="Invoice runs").click()
    page.get_by_role("heading", name="Invoice runs").wait_for()
    # The open month is refused with its reason in words.
    page.get_by_label("Period").fill(datetime.now(timezone.utc).strftime("%Y-%m"))
    page.get_by_role("button", name="Start dry run").click()
    assert "has not closed yet" in page.get_by_test_id("run-refused").text_content()
    page.get_by_label("Period").fill(period.label)
    with page.expect_response(lambda r: r.url.endswith("/v1/operator/invoice-runs") and r.request.method == "POST") \
            as started:
        page.get_by_role("button", name="Start dry run").click()
    run_id = started.value.json()["id"]
    deadline = time.monotonic() + 120
    while (run := api.get(f"/v1/operator/invoice-runs/{run_id}", headers=finance["auth"]).json())["outcomes"] is None:
        assert time.monotonic() < deadline, f"the dry run did not report: {run['state']}"
        time.sleep(1)
    item = page.get_by_test_id(f"run-{run_id}")
    item.get_by_test_id("run-outcomes").wait_for(timeout=30_000)
    assert run["dry_run"] and any(o["tenant"] == tenant.slug for o in run["outcomes"])
    for outcome in run["outcomes"]:
        shown = item.get_by_test_id(f"outcome-{outcome['tenant']}")
        assert outcome["status"] in shown.text_content()
        total = shown.get_by_test_id("total").text_content()
        assert total.startswith("$") and shown_decimal(total[1:]) == Decimal(outcome["total"])
    assert item.get_by_role("link", name="Open in Prefect").get_attribute("href") == run["ui_url"]
    shot(page, screenshot_dir(app_stack), "operator-invoice-runs")


def test_journey_finance_dry_runs_then_invoices_a_closed_month_and_the_owner_sees_the_invoice(
        page, browser, app_url, api, ingest, app_stack, flows_service, finance, plan):
    """As people would: usage in the month that has closed, finance's dry run shows the invoice
    to be, the real run issues it, and the tenant's owner finds it and opens its usage line down to
    the events it was rated from."""
    period = DemoPeriod.last_closed(datetime.now(timezone.utc), usage_horizon(app_stack))
    tenant = register_tenant(api, None)
    migrated = api.post(f"/v1/operator/tenants/{tenant.tenant_id}/subscriptions", headers=finance["auth"],
                        json={"plan_slug": plan, "started_at": period.subscribed_at.isoformat()})
    assert migrated.status_code < 300, migrated.text
    pushed = push_events(ingest, tenant, calls=321, tokens=[], at=period.subscribed_at + timedelta(hours=1))
    params = {"from": period.start.isoformat(), "to": period.end.isoformat(), "window": "month"}
    wait_for_totals(api, tenant, params)
    sign_in_operator(page, app_url, finance["email"], finance["password"])
    page.get_by_role("navigation").get_by_role("link", name="Invoice runs").click()
    page.get_by_label("Period").fill(period.label)
    outcomes = {}
    for button, dry_run in (("Start dry run", True), ("Start invoice run", False)):
        page.get_by_label("Dry run", exact=False).set_checked(dry_run)
        with page.expect_response(lambda r: r.url.endswith("/v1/operator/invoice-runs")
                                  and r.request.method == "POST") as started:
            page.get_by_role("button", name=button).click()
        run_id = started.value.json()["id"]
        shown = page.get_by_test_id(f"run-{run_id}").get_by_test_id(f"outcome-{tenant.slug}")
        shown.wait_for(timeout=120_000)  # the page polls the run until it reports
        outcomes[dry_run] = {"status": shown.locator("td").nth(2).text_content(),
                             "total": shown.get_by_test_id("total").text_content()}
    assert outcomes[True]["status"] == "dry run" and outcomes[False]["status"] != "dry run"
    assert outcomes[True]["total"] == outcomes[False]["total"]  # the dry run showed what the real run issued
    shot(page, screenshot_dir(app_stack), "operator-journey-invoice-runs")
    invoices = [i for i in api.get("/v1/invoices", headers=tenant.auth).json()
                if i["period_start"][:7] == period.label]
    assert len(invoices) == 1, invoices
    invoice = invoices[0]
    owner = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 1280, "height": 900}).new_page()
    try:
        sign_in(owner, app_url, tenant)
        owner.get_by_role("link", name="Billing").click()
        assert shown_decimal(owner.get_by_test_id(f"invoice-total-{invoice['number']}").text_content()[1:]) \
            == shown_decimal(outcomes[False]["total"][1:])
        owner.get_by_role("button", name=invoice["number"]).click()
        calls = [line for line in invoice["lines"] if line.get("meter_slug") == "api-calls"]
        assert calls and Decimal(calls[0]["quantity"]) == 321
        owner.get_by_role("cell", name="321", exact=True).wait_for()
        shot(owner, screenshot_dir(app_stack), "operator-journey-owner-invoice")
        _open_the_line_down_to_its_events(owner, api, tenant, invoice["number"], calls[0], pushed)
        shot(owner, screenshot_dir(app_stack), "operator-journey-owner-line-events")
    finally:
        owner.context.close()


def _all_line_events(api, tenant, number: str, position: int) -> list[dict]:
    """Every event of the line as the API pages them (the page asks 100 at a time too)."""
    events, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        answer = api.get(f"/v1/invoices/{number}/lines/{position}/events", params=params, headers=tenant.auth)
        assert answer.status_code == 200, answer.text
        events += answer.json()["events"]
        if not (cursor := answer.json()["next_cursor"]):
            return events


def _open_the_line_down_to_its_events(owner, api, tenant, number: str, line: dict, pushed: list[str]) -> None:
    """The usage line opened to its hourly windows, then to its events, each equal to the API's."""
    position = line["position"]
    owner.get_by_role("button", name=line["description"]).click()
    drill = owner.get_by_test_id(f"line-drill-{position}")
    owner.get_by_test_id(f"line-windows-{position}").wait_for()
    windows = api.get(f"/v1/invoices/{number}/lines/{position}/windows", headers=tenant.auth).json()
    assert (Decimal(windows["total_quantity"]), windows["total_events"]) == (Decimal(line["quantity"]), len(pushed))
    assert shown_decimal(owner.get_by_test_id(f"windows-total-{position}").text_content()) == Decimal(windows["total_quantity"])
    assert shown_decimal(owner.get_by_test_id(f"windows-events-{position}").text_content()) == windows["total_events"]
    assert [shown_decimal(q) for q in drill.get_by_test_id("window-quantity").all_text_contents()] \
        == [Decimal(w["quantity"]) for w in windows["windows"]]
    assert [shown_decimal(n) for n in drill.get_by_test_id("window-events").all_text_contents()] \
        == [w["event_count"] for w in windows["windows"]]
    assert sum(w["event_count"] for w in windows["windows"]) == len(pushed)
    drill.get_by_role("button", name="Show the events").click()
    shown_events = owner.get_by_test_id(f"line-events-{position}")
    shown_events.wait_for()
    rows = shown_events.locator("tbody tr")
    more = drill.get_by_role("button", name="More events")
    while more.count():  # a page of 100 at a time, as a person would page through them
        before = rows.count()
        more.click()
        owner.wait_for_function("([n, before]) => document.querySelectorAll(`[data-testid=line-events-${n}] tbody tr`)"
                                ".length > before", arg=[position, before])
    events = _all_line_events(api, tenant, number, position)
    assert sorted(e["id"] for e in events) == sorted(pushed)  # every event pushed, and only those
    assert shown_events.locator("tbody tr td:first-child code").all_text_contents() == [e["id"] for e in events]
    assert drill.get_by_test_id("event-value").all_text_contents() == \
        ["1 (counted)" if e["value"] is None else en_us_quantity(e["value"]) for e in events]
    assert shown_decimal(owner.get_by_test_id(f"line-events-shown-{position}").text_content().split()[0]) == len(pushed)


# What each section shows once its data is in.
LOADED = {"Operator console": "mrr-table", "Tenants": "tenants-table", "Invoice runs": "invoice-runs",
          "Pipeline": "lag-table"}


def test_the_console_fits_a_phone(browser, app_url, app_stack, finance, sre, tenant_with_usage):
    for operator, sections in ((finance, ["Operator console", "Tenants", "Invoice runs"]),
                               (sre, ["Pipeline"])):
        context = browser.new_context(locale="en-US", timezone_id="UTC", viewport={"width": 390, "height": 844})
        page = context.new_page()
        try:
            sign_in_operator(page, app_url, operator["email"], operator["password"])
            for section in sections:
                page.get_by_role("button", name="Menu").click()
                page.get_by_role("navigation").get_by_role("link", name=section).click()
                page.get_by_test_id(LOADED[section]).wait_for(timeout=30_000)
                wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > 391 && !e.closest('.table-wrap'))
                    .map(e => e.tagName + '.' + e.className).slice(0, 8)""")
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, (section, wide)
            shot(page, screenshot_dir(app_stack), f"operator-{sections[-1].lower().replace(' ', '-')}-phone")
        finally:
            context.close()


def test_operator_sign_in_refusals_are_explained(page, app_url, finance, tenant_with_usage):
    for email, password in ((finance["email"], "not-the-password"),
                            (tenant_with_usage.email, tenant_with_usage.password)):  # a team member, not an operator
        page.goto(app_url + "/sign-in")
        page.get_by_role("tab", name="Operator").click()
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("alert").text_content() == "Wrong email or password."
        assert page.evaluate("sessionStorage.getItem('meterline.session')") is None
    page.goto(app_url + "/operator")  # no session: sent to sign in, the console not shown
    page.get_by_role("heading", name="Sign in to Meterline").wait_for()


@pytest.mark.parametrize(("role", "path"), [("finance", "/operator"), ("finance", "/operator/tenants"),
                                            ("finance", "/operator/invoice-runs"), ("sre", "/operator/pipeline")])
def test_every_console_control_is_named(page, app_url, finance, sre, tenant_with_usage, role, path):
    from .test_accessibility import UNNAMED

    operator = {"finance": finance, "sre": sre}[role]
    sign_in_operator(page, app_url, operator["email"], operator["password"])
    page.goto(app_url + path)
    page.locator("h1").wait_for()
    page.locator(".state-loading").first.wait_for(state="detached", timeout=30_000)
    if path == "/operator/tenants":  # the suspend form's field too
        page.locator("button.danger").first.click()
    assert page.evaluate(UNNAMED) == []
