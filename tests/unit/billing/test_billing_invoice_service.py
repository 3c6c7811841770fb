"""issue_invoice as a state machine, on in-memory fakes of our own two ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from billing_jobs.errors import PaymentDeclinedError, PermanentError, RetryableError
from billing_jobs.invoice_service import issue_invoice
from billing_jobs.invoicing import InvoiceDraft
from billing_jobs.plans import Plan, UnitCharge
from billing_jobs.ports import InvoiceStatus, InvoiceStore, StoredInvoice, StripeGateway, StripeInvoiceRef

D = Decimal
PLAN = Plan(slug="pro", name="Pro", currency="USD", flat_fee=D("49.00"),
            charges=[UnitCharge(meter_slug="api", unit_price=D("0.01"))])
FREE = Plan(slug="free", name="Free", currency="USD")


class FakeInvoiceStore:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], StoredInvoice] = {}
        self.push_started: set[tuple[str, str]] = set()
        self.applied: dict[str, list] = {}  # invoice number -> the corrections it billed

    def get(self, tenant_id: str, number: str) -> StoredInvoice | None:
        return self.rows.get((tenant_id, number))

    def create(self, tenant_id: str, draft: InvoiceDraft, applied_corrections=()) -> StoredInvoice:
        if (tenant_id, draft.number) not in self.rows:
            self.applied[draft.number] = list(applied_corrections)
        return self.rows.setdefault((tenant_id, draft.number), StoredInvoice(draft=draft))

    def start_stripe_push(self, tenant_id: str, number: str) -> bool:
        if (tenant_id, number) in self.push_started:
            return False
        self.push_started.add((tenant_id, number))
        return True

    def attach_stripe(self, tenant_id: str, number: str, stripe_invoice_id: str, status: InvoiceStatus) -> None:
        row = self.rows[(tenant_id, number)]
        self.rows[(tenant_id, number)] = row.model_copy(update={"stripe_invoice_id": stripe_invoice_id, "status": status})

    def set_status(self, tenant_id: str, number: str, status: InvoiceStatus) -> None:
        row = self.rows[(tenant_id, number)]
        self.rows[(tenant_id, number)] = row.model_copy(update={"status": status})


@dataclass
class FakeInvoice:
    id: str
    customer_id: str
    number: str
    total_minor: int
    status: str = "draft"


@dataclass
class FakeStripeGateway:
    """Behaves like the real adapter: finds an invoice already created for a number,
    unless told there is nothing to recover (then, like it, it creates blindly)."""

    invoices: dict[str, FakeInvoice] = field(default_factory=dict)
    crash_after_create: int = 0  # raise this many times right after creating
    pay_failures: list[Exception] = field(default_factory=list)
    total_offset: int = 0  # a Stripe-side total that disagrees with ours
    pay_calls: int = 0
    push_calls: int = 0
    recover_flags: list[bool] = field(default_factory=list)
    pay_known_statuses: list[str | None] = field(default_factory=list)

    def ensure_customer(self, tenant_id: str, name: str, email: str, existing_customer_id: str | None,
                        *, recover: bool = True) -> str:
        return existing_customer_id or f"cus_{tenant_id}"

    def _ref(self, invoice: FakeInvoice) -> StripeInvoiceRef:
        # Like the adapter, it maps the provider's status to ours (a provider draft is open to us).
        return StripeInvoiceRef(invoice.id, invoice.status, invoice.total_minor,
                                "open" if invoice.status == "draft" else invoice.status)

    def push_invoice(self, customer_id: str, draft: InvoiceDraft, existing_stripe_invoice_id: str | None,
                     *, recover: bool = True) -> StripeInvoiceRef:
        self.push_calls += 1
        self.recover_flags.append(recover)
        if existing_stripe_invoice_id:
            return self._ref(self.invoices[existing_stripe_invoice_id])
        for invoice in self.invoices.values() if recover else ():
            if invoice.customer_id == customer_id and invoice.number == draft.number:
                return self._ref(invoice)
        invoice = FakeInvoice(f"in_{len(self.invoices) + 1}", customer_id, draft.number,
                              draft.total_minor + self.total_offset)
        if invoice.total_minor == 0:
            invoice.status = "paid"  # Stripe settles a zero invoice by itself
        self.invoices[invoice.id] = invoice
        if self.crash_after_create:
            self.crash_after_create -= 1
            raise RetryableError("connection reset after Stripe created the invoice")
        return self._ref(invoice)

    def pay_invoice(self, stripe_invoice_id: str, known_status: str | None = None) -> StripeInvoiceRef:
        self.pay_calls += 1
        self.pay_known_statuses.append(known_status)
        if self.pay_failures:
            raise self.pay_failures.pop(0)
        invoice = self.invoices[stripe_invoice_id]
        invoice.status = "paid"
        return self._ref(invoice)


def test_fakes_satisfy_the_ports():
    store: InvoiceStore = FakeInvoiceStore()
    gateway: StripeGateway = FakeStripeGateway()
    assert store and gateway


def issue(store, gateway, usage=None, plan=PLAN):
    return issue_invoice(
        store=store, gateway=gateway, tenant_id="t-1", tenant_slug="acme", customer_id="cus_1", plan=plan,
        usage={"api": D(1000)} if usage is None else usage,
        period_start=date(2026, 11, 1), period_end=date(2026, 12, 1),
    )


def test_happy_path_ends_paid():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway()
    stored = issue(store, gateway)
    assert stored.status == "paid"
    assert stored.stripe_invoice_id == "in_1"
    assert stored.draft.total_minor == 4900 + 1000  # 49.00 flat + 1000 x 0.01
    assert gateway.invoices["in_1"].total_minor == 5900


def test_running_twice_creates_nothing_new():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway()
    first = issue(store, gateway)
    second = issue(store, gateway)
    assert first == second
    assert len(store.rows) == 1 and len(gateway.invoices) == 1
    assert gateway.push_calls == 1 and gateway.pay_calls == 1


def test_crash_after_stripe_created_the_invoice_is_recovered():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway(crash_after_create=1)
    with pytest.raises(RetryableError):
        issue(store, gateway)
    assert store.get("t-1", "ML-ACME-202611").status == "draft"  # Stripe id never stored
    stored = issue(store, gateway)
    assert stored.status == "paid"
    assert len(gateway.invoices) == 1


def test_first_push_skips_recovery_and_payment_reuses_its_status():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway()
    assert issue(store, gateway).status == "paid"
    assert gateway.recover_flags == [False]
    assert gateway.pay_known_statuses == ["draft"]


def test_push_after_a_crash_looks_stripe_up_again():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway(crash_after_create=1)
    with pytest.raises(RetryableError):
        issue(store, gateway)
    assert issue(store, gateway).status == "paid"
    assert gateway.recover_flags == [False, True]
    assert len(gateway.invoices) == 1


def test_resumed_payment_reads_the_status_from_stripe():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway(pay_failures=[RetryableError("timeout")])
    with pytest.raises(RetryableError):
        issue(store, gateway)
    issue(store, gateway)
    assert gateway.pay_known_statuses == ["draft", None]


def test_crash_before_payment_resumes_at_payment():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway(pay_failures=[RetryableError("timeout")])
    with pytest.raises(RetryableError):
        issue(store, gateway)
    assert store.get("t-1", "ML-ACME-202611").status == "open"
    stored = issue(store, gateway)
    assert stored.status == "paid"
    assert gateway.push_calls == 1 and gateway.pay_calls == 2


def test_declined_card_is_recorded_not_raised_nor_retried_here():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway(pay_failures=[PaymentDeclinedError("declined")])
    assert issue(store, gateway).status == "payment_failed"
    assert issue(store, gateway).status == "payment_failed"  # dunning retries, not this flow
    assert gateway.pay_calls == 1


def test_stored_draft_is_not_recomposed_with_late_usage():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway(pay_failures=[RetryableError("timeout")])
    with pytest.raises(RetryableError):
        issue(store, gateway, usage={"api": D(1000)})
    stored = issue(store, gateway, usage={"api": D(5000)})
    assert stored.draft.total_minor == 5900


def test_total_mismatch_with_stripe_is_permanent():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway(total_offset=1)
    with pytest.raises(PermanentError, match="totals"):
        issue(store, gateway)
    assert store.get("t-1", "ML-ACME-202611").stripe_invoice_id is None


def test_zero_invoice_settled_by_stripe_needs_no_payment():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway()
    stored = issue(store, gateway, usage={}, plan=FREE)
    assert stored.status == "paid" and stored.draft.total_minor == 0
    assert gateway.pay_calls == 0


def test_stored_invoice_round_trips_as_json():
    store, gateway = FakeInvoiceStore(), FakeStripeGateway()
    stored = issue(store, gateway)
    assert StoredInvoice.model_validate(stored.model_dump(mode="json")) == stored
    assert stored.number == "ML-ACME-202611"
