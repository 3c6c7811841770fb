"""Invoice runs as finance sees them, on a real Prefect server, PostgreSQL and localstripe:
every deployment served; a run's table and summary artifacts read back from Prefect's API;
one tenant whose Stripe call fails leaves the others invoiced; the period guard, the
operator's close now and dry runs; runs started and followed over the operators' HTTP API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from billing_jobs.invoicing import billing_period, compose_segmented_invoice
from billing_jobs.period_guard import CloseNow, PeriodNotClosedError
from billing_jobs.plans import Plan
from billing_jobs.segments import SubscriptionSpan, plan_segments
from flows.deployments import DEPLOYMENT_NAMES, INVOICES_DEPLOYMENT
from flows.invoicing import generate_invoices
from meterline.bootstrap import api_app, pg_engine, pg_sync_engine
from metering import UsageDelta
from tests.integration.test_billing_cancel import subscribed
from tests.integration.test_billing_invoice_flow import at, customer_of, subscribe_with_change
from tests.support.operators import operator_headers
from tests.support.tenants import create_tenant
from warehouse.postgres.invoices import PgInvoiceStore
from warehouse.postgres.plans import get_plan, insert_plan, insert_subscription
from warehouse.postgres.usage import add_usage

pytestmark = pytest.mark.integration

def flow_run_artifacts(flow_run_id) -> dict[str, object]:
    """{type: data} of the flow run's artifacts, as Prefect's API answers (the UI's source)."""
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {artifact.type: artifact.data for artifact in artifacts}


async def subscribed_in(stack, slug: str, month: date):
    """A tenant subscribed since before `month`, with 1234 calls in it: 10.00 + 1234 x 0.0125 = 25.43 USD."""
    tenant = await create_tenant(stack, slug, [("calls", "api.call", "COUNT", None)])
    plan = Plan.model_validate({
        "slug": f"plan-{slug}", "name": "Test", "currency": "USD", "flat_fee": "10.00",
        "charges": [{"model": "unit", "meter_slug": "calls", "unit_price": "0.0125"}]})
    engine = pg_engine(stack)
    async with engine.begin() as conn:
        await insert_plan(conn, plan)
        plan_id, _ = await get_plan(conn, plan.slug)
        await insert_subscription(conn, tenant.id, plan_id,
                                  started_at=datetime(month.year - 1, 12, 1, tzinfo=timezone.utc))
        await add_usage(conn, tenant.id, [
            ("calls", datetime(month.year, month.month, 3, 4, tzinfo=timezone.utc), UsageDelta(Decimal(1234), 1234))])
    await engine.dispose()
    return tenant, plan


@contextmanager
def lost_in_stripe(stack, tenant, plan: Plan, month: date) -> Iterator[None]:
    """The tenant's stored invoice points at a Stripe invoice Stripe does not know: paying it
    fails at Stripe (a permanent error), as after Stripe's data was reset. Voided at the end,
    so that no later run over the whole month fails on it."""
    start, end = billing_period(month)
    draft = compose_segmented_invoice(
        tenant_slug=tenant.slug, tenant_id=str(tenant.id), period_start=start, period_end=end,
        segments=plan_segments([SubscriptionSpan(plan, datetime(month.year - 1, 12, 1, tzinfo=timezone.utc))],
                               start, end))
    store = PgInvoiceStore(pg_sync_engine(stack))
    store.create(str(tenant.id), draft)
    store.attach_stripe(str(tenant.id), draft.number, "in_lost_in_stripe", "open")
    try:
        yield
    finally:
        store.set_status(str(tenant.id), draft.number, "void")


def test_the_stack_serves_every_deployment_with_its_schedule(flows_service):
    with get_client(sync_client=True) as client:
        for name in DEPLOYMENT_NAMES:
            deployment = client.read_deployment_by_name(name)
            assert deployment.status.value == "READY", name  # its runner polls
            assert len(deployment.schedules) == 1, name


# Months of their own: a run over the whole month (other tests' runs) would fail on the
# tenant lost in Stripe while the test runs.
FAILING_MONTH, FAILING_MONTH_OVER_HTTP = date(2024, 3, 1), date(2024, 4, 1)


async def test_one_failing_tenant_leaves_the_others_invoiced_and_the_artifacts_say_which(stack, unique_slug):
    good, _ = await subscribed_in(stack, unique_slug, FAILING_MONTH)
    bad, plan = await subscribed_in(stack, f"{unique_slug}-lost", FAILING_MONTH)
    with lost_in_stripe(stack, bad, plan, FAILING_MONTH):
        state = generate_invoices(period="2024-03", tenants=[str(bad.id), str(good.id)], return_state=True)
    assert state.is_failed()
    assert f"1 of 2 tenants not invoiced for 2024-03-01..2024-04-01: tenant {bad.id}" in state.message
    artifacts = flow_run_artifacts(state.state_details.flow_run_id)
    rows = [{k: v for k, v in row.items() if k != "failure_reason"} | {"failed": bool(row["failure_reason"])}
            for row in json.loads(artifacts["table"])]
    assert rows == [
        {"tenant": str(bad.id), "tenant_id": str(bad.id), "invoice_number": "", "total": "", "currency": "",
         "status": "failed", "failed": True},
        {"tenant": unique_slug, "tenant_id": str(good.id), "invoice_number": f"ML-{unique_slug.upper()}-202403",
         "total": "25.43", "currency": "USD", "status": "paid", "failed": False},
    ]
    assert json.loads(artifacts["table"])[0]["failure_reason"] == "stripe: InvalidRequestError (404): Not Found"
    summary = artifacts["markdown"]
    assert "# Invoices for 2024-03" in summary and "**1** of **2** tenants invoiced, **1** failed." in summary
    assert "| USD | 1 | 25.43 |" in summary and "| failed | 1 |" in summary
    # A rerun for the good tenant changes nothing: its invoice is issued once.
    again = generate_invoices(period="2024-03", tenants=[str(good.id)])
    assert [(s.total_minor, s.status) for s in again] == [(2543, "paid")]


async def test_the_period_guard_refuses_open_and_future_periods_and_takes_a_close_now(stack, unique_slug):
    tenant, _, _ = await subscribe_with_change(stack, unique_slug)
    mid_october = datetime(2026, 10, 20, tzinfo=timezone.utc)
    with pytest.raises(PeriodNotClosedError, match="period 2026-10 is open until 2026-11-01"):
        generate_invoices(period="2026-10", tenants=[str(tenant.id)], now=mid_october)
    with pytest.raises(PeriodNotClosedError, match="period 2026-11 has not started"):
        generate_invoices(period="2026-11", now=mid_october,
                          close_now=CloseNow(operator="ann@finance", reason="a future period is never closed"))
    assert await customer_of(stack, tenant.id) is None  # refused before anything touched Stripe
    close = CloseNow(operator="ann@finance.example", reason="customer leaves on the 20th")
    state = generate_invoices(period="2026-10", tenants=[str(tenant.id)], now=mid_october, close_now=close,
                              return_state=True)
    [summary] = await state.aresult()
    assert (summary.number, summary.status) == (f"ML-{unique_slug.upper()}-202610", "paid")
    markdown = flow_run_artifacts(state.state_details.flow_run_id)["markdown"]
    assert "Period closed early by **ann@finance.example**: customer leaves on the 20th" in markdown


async def test_a_subscription_cancelled_at_once_is_billed_before_its_period_closes(stack, unique_slug):
    tenant = await subscribed(stack, unique_slug, at(16))  # cancelled at once on 16 October, 2026
    [summary] = generate_invoices(period="2026-10", tenants=[str(tenant.id)],
                                  now=datetime(2026, 10, 20, tzinfo=timezone.utc))
    assert summary.total_minor == 1500 + 100 and summary.status == "paid"


async def test_a_dry_run_rates_everything_and_touches_neither_stripe_nor_the_invoices(stack, unique_slug):
    tenant, _, _ = await subscribe_with_change(stack, unique_slug)
    state = generate_invoices(period="2026-10", tenants=[str(tenant.id)], dry_run=True, return_state=True)
    [dry] = await state.aresult()
    assert (dry.status, dry.total_minor, [amount for _, amount in dry.lines]) == (
        "dry run", 6835, [1000, 335, 4200, 1000, 300])
    assert await customer_of(stack, tenant.id) is None
    assert PgInvoiceStore(pg_sync_engine(stack)).get(str(tenant.id), dry.number) is None
    markdown = flow_run_artifacts(state.state_details.flow_run_id)["markdown"]
    assert markdown.startswith("# Invoices for 2026-10 (dry run)") and "| USD | 1 | 68.35 |" in markdown
    [issued] = generate_invoices(period="2026-10", tenants=[str(tenant.id)])
    assert (issued.total_minor, issued.lines, issued.status) == (dry.total_minor, dry.lines, "paid")


@pytest.fixture
async def operator_api(stack, flows_service) -> AsyncIterator[httpx.AsyncClient]:
    """The admin API, signed in as a finance operator (invoice runs are finance's)."""
    application = api_app(stack)
    async with LifespanManager(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                     base_url="http://api.test") as http:
            http.headers.update(await operator_headers(http, stack, "finance"))
            yield http


async def finished(api: httpx.AsyncClient, run_id: str, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = await api.get(f"/v1/operator/invoice-runs/{run_id}")
        assert response.status_code == 200, response.text
        run = response.json()
        if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") and run["outcomes"] is not None:
            return run
        await asyncio.sleep(1)
    raise AssertionError(f"run {run_id} still {run['state']} after {timeout_s:.0f}s")


async def test_operators_start_a_run_over_http_and_follow_its_outcomes(stack, operator_api, unique_slug):
    good, _ = await subscribed_in(stack, unique_slug, FAILING_MONTH_OVER_HTTP)
    bad, plan = await subscribed_in(stack, f"{unique_slug}-lost", FAILING_MONTH_OVER_HTTP)
    with lost_in_stripe(stack, bad, plan, FAILING_MONTH_OVER_HTTP):
        response = await operator_api.post("/v1/operator/invoice-runs", json={
            "period": "2024-04", "tenants": [str(good.id), str(bad.id)]})
        assert response.status_code == 202, response.text
        started = response.json()
        assert started["period"] == "2024-04" and started["dry_run"] is False and started["outcomes"] is None
        # A flow run of the served deployment: the Prefect UI shows it.
        with get_client(sync_client=True) as client:
            deployment_id = client.read_deployment_by_name(INVOICES_DEPLOYMENT).id
            assert client.read_flow_run(started["id"]).deployment_id == deployment_id
        assert started["ui_url"].endswith(f"/runs/flow-run/{started['id']}")
        assert started["deployment_url"].endswith(f"/deployments/deployment/{deployment_id}")
        for page in (started["ui_url"], started["deployment_url"]):  # the UI's pages, as a browser asks
            assert httpx.get(page, headers={"Accept": "text/html"}).status_code == 200, page
        run = await finished(operator_api, started["id"])

    assert run["state_type"] == "FAILED"  # one tenant failed; the other is invoiced all the same
    outcomes = {row["tenant_id"]: row for row in run["outcomes"]}
    assert (outcomes[str(good.id)]["status"], outcomes[str(good.id)]["total"]) == ("paid", "25.43")
    assert outcomes[str(bad.id)]["status"] == "failed" and outcomes[str(bad.id)]["failure_reason"]
    assert "**1** of **2** tenants invoiced" in run["summary_markdown"]
    listed = await operator_api.get("/v1/operator/invoice-runs", params={"limit": 100})
    assert started["id"] in [r["id"] for r in listed.json()]


@pytest.mark.parametrize(("body", "reason"), [
    ({"period": "2026-12"}, "period 2026-12 is open until 2027-01-01"),
    ({"period": "2027-01", "close_now": {"reason": "early"}}, "period 2027-01 has not started"),
], ids=["open", "future"])
async def test_http_refuses_a_period_that_has_not_closed(operator_api, body, reason):
    response = await operator_api.post("/v1/operator/invoice-runs", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "period_not_closed" and reason in error["message"]
    assert error["details"][0]["field"] == "period"


async def test_http_invoice_runs_are_finances(stack, operator_api):
    """SREs may not start or read invoice runs (the role table), nor may anyone unsigned;
    the bootstrap token creates operators and does nothing else."""
    sre = await operator_headers(operator_api, stack, "sre")
    for headers, status in [(sre, 403), ({"Authorization": "Bearer not-a-token"}, 401),
                            ({"Authorization": f"Bearer {stack.api.operator_token.get_secret_value()}"}, 401)]:
        response = await operator_api.post("/v1/operator/invoice-runs", json={"period": "2026-10"}, headers=headers)
        assert response.status_code == status, response.text
        assert (await operator_api.get("/v1/operator/invoice-runs", headers=headers)).status_code == status


async def test_http_close_now_records_the_signed_in_operator(stack, operator_api, unique_slug):
    """An open month, closed now over HTTP (a dry run: nothing is issued): the summary names
    the operator who called, whatever the body says."""
    now = datetime.now(timezone.utc)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    tenant, _ = await subscribed_in(stack, unique_slug, month.date())
    me = (await operator_api.get("/v1/operator/me")).json()
    response = await operator_api.post("/v1/operator/invoice-runs", json={
        "period": f"{month:%Y-%m}", "tenants": [str(tenant.id)], "dry_run": True,
        "close_now": {"reason": "customer leaves today"}})
    assert response.status_code == 202, response.text
    run = await finished(operator_api, response.json()["id"])
    assert run["state_type"] == "COMPLETED" and run["close_now"]["operator"] == f"operator {me['id']}"
    assert f"Period closed early by **operator {me['id']}**: customer leaves today" in run["summary_markdown"]
    [outcome] = run["outcomes"]
    assert (outcome["status"], outcome["total"]) == ("dry run", "25.43")
