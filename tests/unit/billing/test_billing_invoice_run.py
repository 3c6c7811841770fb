"""The invoice run for one tenant and period (billing_jobs.invoice_run), on fakes of our own ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from billing_jobs.corrections import CorrectedPeriod, PendingCorrection
from billing_jobs.invoice_run import DRY_RUN_STATUS, billable_tenants, invoice_tenant
from billing_jobs.period_guard import CloseNow, PeriodNotClosedError
from billing_jobs.period_invoice import rate_period
from billing_jobs.plans import Plan, UnitCharge
from billing_jobs.ports import BillingTenant, InvoiceRunStore, StripeGateway, TenantPeriod
from billing_jobs.segments import SubscriptionSpan, plan_segments, with_usage
from billing_jobs.usage_totals import UnbillableMeterError, UsageHour
from test_billing_invoice_service import FakeInvoiceStore, FakeStripeGateway

D = Decimal
OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
STARTER = Plan(slug="starter", name="Starter", currency="USD", flat_fee=D("10.00"),
               charges=[UnitCharge(meter_slug="api", unit_price=D("0.01"))])
PRO = Plan(slug="pro", name="Pro", currency="USD", flat_fee=D("30.00"),
           charges=[UnitCharge(meter_slug="api", unit_price=D("0.005"))])
PER_USER = Plan(slug="users", name="Per user", currency="USD", flat_fee=D("5.00"),
                charges=[UnitCharge(meter_slug="users", unit_price=D("1.00"))])


def at(day: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, tzinfo=timezone.utc)


class FakeInvoiceRunStore(FakeInvoiceStore):
    """The invoices of FakeInvoiceStore, plus what the run reads and the customer record."""

    def __init__(self, tenant: BillingTenant, aggregations: dict[str, str], hours: list[UsageHour],
                 spans: dict[str, list[SubscriptionSpan]] | None = None, corrections=(), periods=None) -> None:
        super().__init__()
        self.tenant = tenant
        self.aggregations = aggregations
        self.hours = hours
        self.spans = spans or {}
        self.corrections = list(corrections)
        self.periods = dict(periods or {})
        self.customer_creation_started = False
        self.customer_ids_set: list[str] = []

    def billable_spans(self, period_start: date, period_end: date) -> dict[str, list[SubscriptionSpan]]:
        return self.spans

    def read_period(self, tenant_id: str, period_start: date, period_end: date) -> TenantPeriod:
        assert tenant_id == self.tenant.tenant_id
        hours = [h for h in self.hours if at(period_start.day, period_start.month) <= h.window_start
                 < at(period_end.day, period_end.month)]
        return TenantPeriod(self.tenant, self.aggregations, hours, self.corrections, self.periods)

    def start_customer_creation(self, tenant_id: str) -> bool:
        first = not self.customer_creation_started
        self.customer_creation_started = True
        return first

    def set_customer_id(self, tenant_id: str, customer_id: str) -> None:
        self.customer_ids_set.append(customer_id)
        self.tenant = BillingTenant(self.tenant.tenant_id, self.tenant.slug, self.tenant.name, customer_id)


@dataclass
class RecordingGateway(FakeStripeGateway):
    customer_calls: list[tuple[str | None, bool]] = field(default_factory=list)

    def ensure_customer(self, tenant_id: str, name: str, email: str, existing_customer_id: str | None,
                        *, recover: bool = True) -> str:
        self.customer_calls.append((existing_customer_id, recover))
        return super().ensure_customer(tenant_id, name, email, existing_customer_id, recover=recover)


ACME = BillingTenant("t-1", "acme", "Acme", None)
# Starter until the 11th, Pro from then: the period is prorated between them.
SPANS = [SubscriptionSpan(STARTER, at(20, month=9), at(11)), SubscriptionSpan(PRO, at(11))]
HOURS = [UsageHour("api", at(5), D(1000)), UsageHour("api", at(20), D(2000))]


# The run's clock: November has closed.
AFTER_NOVEMBER = at(6, month=12)


def run(store, gateway, spans=SPANS, **options):
    return invoice_tenant(store=store, payments=gateway, tenant_id="t-1", spans=spans, now=AFTER_NOVEMBER, **options,
                          period_start=NOV, period_end=DEC)


def test_fakes_satisfy_the_ports():
    store: InvoiceRunStore = FakeInvoiceRunStore(ACME, {}, [])
    gateway: StripeGateway = RecordingGateway()
    assert store and gateway


def test_first_run_creates_the_customer_without_recovery_and_bills_each_plan_for_its_part():
    store, gateway = FakeInvoiceRunStore(ACME, {"api": "SUM"}, HOURS), RecordingGateway()
    summary = run(store, gateway)
    assert gateway.customer_calls == [(None, False)]  # our record proves no earlier creation
    assert store.customer_ids_set == ["cus_t-1"]
    # 10.00 for 10 of 30 days + 1000 x 0.01; 30.00 for 20 of 30 days + 2000 x 0.005.
    assert (summary.tenant_slug, summary.number, summary.status) == ("acme", "ML-ACME-202611", "paid")
    assert summary.total_minor == 333 + 1000 + 2000 + 1000
    assert sum(amount for _, amount in summary.lines) == summary.total_minor
    assert gateway.invoices["in_1"].customer_id == "cus_t-1"


def test_rerun_reuses_the_stored_customer_and_invoice():
    store, gateway = FakeInvoiceRunStore(ACME, {"api": "SUM"}, HOURS), RecordingGateway()
    first = run(store, gateway)
    second = run(store, gateway)
    assert first == second
    assert gateway.customer_calls == [(None, False), ("cus_t-1", True)]
    assert store.customer_ids_set == ["cus_t-1"]  # not written again
    assert len(gateway.invoices) == 1 and gateway.pay_calls == 1


def test_a_customer_creation_started_before_is_looked_for():
    store, gateway = FakeInvoiceRunStore(ACME, {"api": "SUM"}, HOURS), RecordingGateway()
    store.customer_creation_started = True  # a crashed or concurrent run marked it
    run(store, gateway)
    assert gateway.customer_calls == [(None, True)]


def test_an_unbillable_priced_meter_fails_the_tenant_before_any_stripe_call():
    store, gateway = FakeInvoiceRunStore(ACME, {"users": "UNIQUE_COUNT"}, []), RecordingGateway()
    with pytest.raises(UnbillableMeterError, match="users"):
        run(store, gateway, spans=[SubscriptionSpan(PER_USER, at(1))])
    assert gateway.customer_calls == [] and gateway.invoices == {}
    assert store.rows == {} and not store.customer_creation_started


def test_an_unpriced_unique_count_meter_does_not_stop_the_invoice():
    store, gateway = FakeInvoiceRunStore(ACME, {"api": "SUM", "users": "UNIQUE_COUNT"}, HOURS), RecordingGateway()
    assert run(store, gateway).status == "paid"


def test_late_usage_of_an_earlier_invoice_becomes_a_line_and_is_marked_applied():
    october = CorrectedPeriod(OCT, NOV, with_usage(plan_segments([SubscriptionSpan(STARTER, at(1, month=9))], OCT, NOV),
                                                   [UsageHour("api", at(3, month=10), D(500))]))
    late = PendingCorrection(7, "ML-ACME-202610", "api", at(3, month=10), D(100), event_count=100)
    store = FakeInvoiceRunStore(ACME, {"api": "SUM"}, HOURS, corrections=[late],
                                periods={"ML-ACME-202610": october})
    summary = run(store, RecordingGateway())
    corrections = [(text, amount) for text, amount in summary.lines if "ML-ACME-202610" in text]
    assert [amount for _, amount in corrections] == [100]  # 100 late units x 0.01 on October's plan
    assert summary.total_minor == 333 + 1000 + 2000 + 1000 + 100
    assert [applied.id for applied in store.applied["ML-ACME-202611"]] == [7]


@pytest.mark.parametrize(("tenants", "expected"), [
    (None, ["t-1", "t-2"]),
    (["t-2"], ["t-2"]),
    (["t-2", "t-1", "t-2"], ["t-2", "t-1"]),
    (["t-9"], []),  # not subscribed in the period: nothing to invoice
], ids=["every-tenant", "one-tenant", "some-tenants", "unknown-tenant"])
def test_billable_tenants(tenants, expected):
    spans = {"t-1": SPANS, "t-2": [SubscriptionSpan(PRO, at(1))]}
    store = FakeInvoiceRunStore(ACME, {}, [], spans=spans)
    tenants = billable_tenants(store, NOV, DEC, tenants)
    assert list(tenants) == expected
    assert all(tenants[tid] == spans[tid] for tid in expected)


def test_an_open_period_is_refused_before_anything_is_read_or_written():
    store, gateway = FakeInvoiceRunStore(ACME, {"api": "SUM"}, HOURS), RecordingGateway()
    with pytest.raises(PeriodNotClosedError, match="period 2026-11 is open until 2026-12-01"):
        invoice_tenant(store=store, payments=gateway, tenant_id="t-1", spans=SPANS, period_start=NOV,
                       period_end=DEC, now=at(20))
    assert gateway.customer_calls == [] and store.rows == {}


def test_an_operators_close_now_invoices_the_open_period():
    store, gateway = FakeInvoiceRunStore(ACME, {"api": "SUM"}, HOURS), RecordingGateway()
    summary = invoice_tenant(store=store, payments=gateway, tenant_id="t-1", spans=SPANS, period_start=NOV,
                             period_end=DEC, now=at(30),
                             close_now=CloseNow(operator="ann@finance", reason="migrating to annual billing"))
    assert summary.status == "paid"


def test_a_dry_run_rates_everything_and_writes_nothing():
    store, gateway = FakeInvoiceRunStore(ACME, {"api": "SUM"}, HOURS), RecordingGateway()
    dry = run(store, gateway, dry_run=True)
    assert (dry.number, dry.status, dry.total_minor) == ("ML-ACME-202611", DRY_RUN_STATUS, 333 + 1000 + 2000 + 1000)
    assert gateway.customer_calls == [] and gateway.invoices == {} and store.rows == {}
    assert not store.customer_creation_started
    issued = run(store, gateway)
    assert (issued.total_minor, issued.lines) == (dry.total_minor, dry.lines)  # the same rating
    # After the invoice is issued, a dry run shows it as it stands.
    assert run(store, gateway, dry_run=True) == issued


def test_the_preview_rates_as_the_invoice_run_issues():
    """billing_jobs.period_invoice.rate_period (the API's preview) on the same reads gives the
    lines the run stores, late-usage corrections included."""
    october = CorrectedPeriod(OCT, NOV, with_usage(plan_segments([SubscriptionSpan(STARTER, at(1, month=9))], OCT, NOV),
                                                   [UsageHour("api", at(3, month=10), D(500))]))
    late = PendingCorrection(7, "ML-ACME-202610", "api", at(3, month=10), D(100), event_count=100)
    store = FakeInvoiceRunStore(ACME, {"api": "SUM"}, HOURS, corrections=[late], periods={"ML-ACME-202610": october})
    preview = rate_period(SPANS, store.read_period(ACME.tenant_id, NOV, DEC), NOV, DEC)
    run(store, RecordingGateway())
    assert preview == store.get(ACME.tenant_id, "ML-ACME-202611").draft
    assert rate_period([], store.read_period(ACME.tenant_id, NOV, DEC), NOV, DEC) is None
