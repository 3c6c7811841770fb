"""StripeAdapter against a real Stripe API server (localstripe by default).

Never a mocked client: `stripe_service` (tests/conftest.py) yields a running
server with `api_key` and `api_base`. Each test uses fresh tenant ids, so the
tests share one server without seeing each other's objects. A raw StripeClient
is used only to look at the server's state independently of the adapter.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
import stripe

from billing_jobs.errors import PaymentDeclinedError, PermanentError, RetryableError
from billing_jobs.invoice_service import issue_invoice
from billing_jobs.invoicing import InvoiceDraft, compose_invoice
from billing_jobs.plans import Plan, UnitCharge
from billing_jobs.ports import InvoiceStatus, StoredInvoice
from billing_jobs.stripe import localstripe
from billing_jobs.stripe import NUMBER_KEY, StripeAdapter, translate_stripe_error

pytestmark = pytest.mark.integration

D = Decimal
PLAN = Plan(slug="pro", name="Pro", currency="USD", flat_fee=D("49.00"),
            charges=[UnitCharge(meter_slug="api", unit_price=D("0.01"))])


@pytest.fixture
def adapter(stripe_service) -> StripeAdapter:
    # local=True: these tests run against localstripe (see the adapter's docstring).
    return StripeAdapter(stripe_service.api_key, stripe_service.api_base, local=True,
                         max_attempts=2, backoff_initial_s=0.05)


@pytest.fixture
def server(stripe_service):
    """The raw API, for checking what really exists on the server."""
    return stripe.StripeClient(stripe_service.api_key, base_addresses={"api": stripe_service.api_base},
                               max_network_retries=0).v1


@pytest.fixture
def tenant() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return f"tenant-{suffix}", f"t{suffix}"  # (tenant_id, tenant_slug)


def draft_for(tenant, plan=PLAN, api_calls=D(1234)) -> InvoiceDraft:
    tenant_id, slug = tenant
    # 49.00 flat + 1234 x 0.01 = 12.34 -> 61.34 USD = 6134 cents
    return compose_invoice(tenant_slug=slug, tenant_id=tenant_id, plan=plan, usage={"api": api_calls},
                           period_start=date(2026, 11, 1), period_end=date(2026, 12, 1))


def our_invoices(server, customer_id: str, number: str) -> list[dict]:
    found = []
    for invoice in server.invoices.list(params={"customer": customer_id, "limit": 100}).data:
        data = invoice.to_dict()
        lines = (data.get("lines") or {}).get("data") or []
        if any((line.get("metadata") or {}).get(NUMBER_KEY) == number for line in lines):
            found.append(data)
    return found


def items_of_an_earlier_version(server, customer_id: str, draft: InvoiceDraft) -> None:
    """What the adapter did before add_lines, then crashed: an invoice item per line,
    keyed on (number, position) in metadata and description, and no invoice."""
    for line in draft.lines:
        server.invoice_items.create(params={
            "customer": customer_id, "amount": line.amount_minor, "currency": draft.currency.lower(),
            "description": f"{draft.number} #{line.position}: {line.description}",
            "metadata": {NUMBER_KEY: draft.number, "meterline_line_position": str(line.position),
                         "meterline_tenant_id": draft.tenant_id}})


def customer_for(adapter, tenant) -> str:
    tenant_id, slug = tenant
    return adapter.ensure_customer(tenant_id, f"Tenant {slug}", f"{slug}@example.com", None)


def test_ensure_customer_twice_makes_one_customer(adapter, server, tenant):
    tenant_id, slug = tenant
    first = adapter.ensure_customer(tenant_id, "Acme", f"{slug}@example.com", None)
    # the same call after a crash that lost the id, then with the id
    again = adapter.ensure_customer(tenant_id, "Acme", f"{slug}@example.com", None)
    known = adapter.ensure_customer(tenant_id, "Acme", f"{slug}@example.com", first)
    assert first == again == known
    customers = server.customers.list(params={"email": f"{slug}@example.com"}).data
    assert [c.id for c in customers] == [first]
    assert customers[0].to_dict()["metadata"] == {"meterline_tenant_id": tenant_id}
    # local mode gives the customer a default test card so invoices can be paid
    assert customers[0].to_dict()["invoice_settings"]["default_payment_method"]


def test_a_first_creation_skips_the_email_look_up_and_a_rerun_finds_its_customer(adapter, server, tenant):
    tenant_id, slug = tenant
    calls: list[str] = []
    call = adapter._call
    adapter._call = lambda fn, *a, **kw: calls.append(fn.__name__) or call(fn, *a, **kw)
    # Our record says no creation started: no listing, straight to creating.
    first = adapter.ensure_customer(tenant_id, "Acme", f"{slug}@example.com", None, recover=False)
    assert "list" not in calls and calls[0] == "create"
    # A rerun after a crash that lost the id (the record is set now): found, not created again.
    calls.clear()
    assert adapter.ensure_customer(tenant_id, "Acme", f"{slug}@example.com", None) == first
    assert calls[0] == "list" and "create" not in calls
    assert [c.id for c in server.customers.list(params={"email": f"{slug}@example.com"}).data] == [first]


def test_threads_racing_to_create_the_anchor_plan_all_get_it(stripe_service, server):
    """Many tenants need the anchor plan at the start of a run: the threads that lose the
    race to create it (localstripe: 409) take the one the winner created."""
    code = "chf"
    plan_id = f"meterline-billing-anchor-{code}"
    with contextlib.suppress(stripe.InvalidRequestError):
        server.plans.delete(plan_id)
    localstripe._ANCHOR_PLANS_SEEN.discard(plan_id)
    # No backoff worth the name and a single retry: a 409 retried as transient would fail here.
    adapters = [StripeAdapter(stripe_service.api_key, stripe_service.api_base, local=True,
                              max_attempts=2, backoff_initial_s=0.01) for _ in range(8)]
    start = threading.Barrier(len(adapters))

    def ensure(adapter):
        start.wait()
        return adapter._ensure_anchor_plan(code)

    with ThreadPoolExecutor(len(adapters)) as pool:
        assert list(pool.map(ensure, adapters)) == [plan_id] * len(adapters)
    assert server.plans.retrieve(plan_id).to_dict()["currency"] == code


def test_a_stale_customer_id_falls_back_to_the_tenants_customer(adapter, tenant):
    tenant_id, slug = tenant
    first = customer_for(adapter, tenant)
    assert adapter.ensure_customer(tenant_id, "Acme", f"{slug}@example.com", "cus_does_not_exist") == first


def test_push_invoice_twice_makes_one_invoice_with_the_right_total(adapter, server, tenant):
    customer_id = customer_for(adapter, tenant)
    draft = draft_for(tenant)
    assert draft.total_minor == 6134
    first = adapter.push_invoice(customer_id, draft, None)
    second = adapter.push_invoice(customer_id, draft, None)
    by_id = adapter.push_invoice(customer_id, draft, first.stripe_invoice_id)
    assert first == second == by_id
    assert first.total_minor == 6134
    invoices = our_invoices(server, customer_id, draft.number)
    assert [invoice["id"] for invoice in invoices] == [first.stripe_invoice_id]
    assert invoices[0]["total"] == 6134


@pytest.mark.parametrize("anchor_first", [True, False], ids=["anchor-existed", "items-before-anchor"])
def test_crash_between_items_and_invoice_does_not_duplicate_items(adapter, server, tenant, anchor_first):
    customer_id = customer_for(adapter, tenant)
    draft = draft_for(tenant)
    # The first attempt (an earlier adapter version) created the invoice items, then
    # died before the invoice.
    if anchor_first:
        adapter._anchor_subscription(customer_id, draft.currency)
    # items-before-anchor: localstripe's subscription creation then invoices
    # (and charges) the pending items itself; that invoice must be found as ours.
    items_of_an_earlier_version(server, customer_id, draft)
    ref = adapter.push_invoice(customer_id, draft, None)
    assert ref.total_minor == draft.total_minor
    assert [invoice["id"] for invoice in our_invoices(server, customer_id, draft.number)] == [ref.stripe_invoice_id]
    assert adapter.push_invoice(customer_id, draft, None) == ref


def test_crash_between_an_empty_invoice_and_its_lines_adds_them_to_it(adapter, server, tenant):
    customer_id = customer_for(adapter, tenant)
    draft = draft_for(tenant)
    # The first attempt created the (empty) invoice, then died before add_lines: the
    # invoice carries only our metadata, which the launched localstripe keeps.
    subscription_id = adapter._anchor_subscription(customer_id, draft.currency)
    empty = server.invoices.create(params={
        "customer": customer_id, "subscription": subscription_id,
        "metadata": {NUMBER_KEY: draft.number, "meterline_tenant_id": draft.tenant_id}})
    assert empty.total == 0 and empty.metadata[NUMBER_KEY] == draft.number
    ref = adapter.push_invoice(customer_id, draft, None)
    assert ref.stripe_invoice_id == empty.id and ref.total_minor == draft.total_minor == 6134
    assert [invoice["id"] for invoice in our_invoices(server, customer_id, draft.number)] == [empty.id]


def test_a_rerun_after_some_lines_were_added_adds_only_the_missing_ones(adapter, server, tenant):
    customer_id = customer_for(adapter, tenant)
    draft = draft_for(tenant)
    assert len(draft.lines) == 2
    created = adapter.push_invoice(customer_id, draft, None, recover=False)
    # Simulate an attempt that got only the first line onto the invoice: remove the
    # second from a fresh invoice, built by hand the way the adapter builds it.
    subscription_id = adapter._anchor_subscription(customer_id, draft.currency)
    other = compose_invoice(tenant_slug=tenant[1], tenant_id=tenant[0], plan=PLAN, usage={"api": D(7)},
                            period_start=date(2026, 12, 1), period_end=date(2027, 1, 1))
    partial = server.invoices.create(params={"customer": customer_id, "subscription": subscription_id,
                                             "metadata": {NUMBER_KEY: other.number}})
    first = other.lines[0]
    server.invoices.add_lines(partial.id, params={"lines": [{
        "amount": first.amount_minor, "description": f"{other.number} #{first.position}: {first.description}",
        "metadata": {NUMBER_KEY: other.number, "meterline_line_position": str(first.position)}}]})
    ref = adapter.push_invoice(customer_id, other, None)
    assert ref.stripe_invoice_id == partial.id and ref.total_minor == other.total_minor == 4907
    lines = server.invoices.line_items.list(partial.id, params={"limit": 100}).data
    positions = sorted(int(line.metadata["meterline_line_position"]) for line in lines
                       if NUMBER_KEY in (line.metadata or {}))
    assert positions == [line.position for line in other.lines]
    assert created.stripe_invoice_id != partial.id


def test_crash_after_invoice_created_is_recovered_by_number(adapter, server, tenant):
    customer_id = customer_for(adapter, tenant)
    draft = draft_for(tenant)
    created = adapter.push_invoice(customer_id, draft, None)
    # Simulated crash: Stripe has the invoice, our store never got its id.
    recovered = adapter.push_invoice(customer_id, draft, None)
    assert recovered.stripe_invoice_id == created.stripe_invoice_id
    # The anchor subscription's own $0 invoice exists but is never mistaken for ours.
    all_invoices = server.invoices.list(params={"customer": customer_id}).data
    assert len(all_invoices) == 2
    assert {invoice.total for invoice in all_invoices} == {0, draft.total_minor}
    assert len(our_invoices(server, customer_id, draft.number)) == 1


def test_two_periods_make_two_invoices_on_one_anchor(adapter, server, tenant):
    tenant_id, slug = tenant
    customer_id = customer_for(adapter, tenant)
    november = draft_for(tenant)
    december = compose_invoice(tenant_slug=slug, tenant_id=tenant_id, plan=PLAN, usage={"api": D(1)},
                               period_start=date(2026, 12, 1), period_end=date(2027, 1, 1))
    first = adapter.push_invoice(customer_id, november, None)
    second = adapter.push_invoice(customer_id, december, None)
    assert first.stripe_invoice_id != second.stripe_invoice_id
    assert (first.total_minor, second.total_minor) == (6134, 4901)
    assert len(server.subscriptions.list(params={"customer": customer_id}).data) == 1


def calls_of(adapter: StripeAdapter) -> list[str]:
    """Record the Stripe methods `adapter` calls from now on, as "InvoiceService.create"."""
    seen: list[str] = []
    real = adapter._call

    def recording(fn, *args, **kwargs):
        seen.append(f"{type(fn.__self__).__name__}.{fn.__name__}")
        return real(fn, *args, **kwargs)

    adapter._call = recording  # type: ignore[method-assign]
    return seen


def test_a_first_push_in_steady_state_lists_nothing(stripe_service, server, tenant):
    tenant_id, slug = tenant
    first_process = StripeAdapter(stripe_service.api_key, stripe_service.api_base, local=True)
    customer_id = customer_for(first_process, tenant)
    first_process.pay_invoice(first_process.push_invoice(customer_id, draft_for(tenant), None).stripe_invoice_id)
    # Next month, another process: the customer is known, the push is the first.
    december = compose_invoice(tenant_slug=slug, tenant_id=tenant_id, plan=PLAN, usage={"api": D(1)},
                               period_start=date(2026, 12, 1), period_end=date(2027, 1, 1))
    adapter = StripeAdapter(stripe_service.api_key, stripe_service.api_base, local=True)
    seen = calls_of(adapter)
    assert adapter.ensure_customer(tenant_id, f"Tenant {slug}", f"{slug}@example.com", customer_id) == customer_id
    ref = adapter.push_invoice(customer_id, december, None, recover=False)
    paid = adapter.pay_invoice(ref.stripe_invoice_id, ref.status)
    # The anchor came with the customer; nothing was looked for, nothing read back.
    # All the lines in one add_lines call, however many there are.
    assert len(december.lines) > 1
    assert seen == ["CustomerService.retrieve", "InvoiceService.create", "InvoiceService.add_lines",
                    "InvoiceService.pay"]
    assert paid.status == "paid" and paid.total_minor == december.total_minor == 4901
    assert len(server.subscriptions.list(params={"customer": customer_id}).data) == 1
    assert [invoice["id"] for invoice in our_invoices(server, customer_id, december.number)] == [ref.stripe_invoice_id]


def test_a_new_customers_first_push_creates_its_anchor_without_listing(stripe_service, server, tenant):
    adapter = StripeAdapter(stripe_service.api_key, stripe_service.api_base, local=True)
    seen = calls_of(adapter)
    customer_id = customer_for(adapter, tenant)
    ref = adapter.push_invoice(customer_id, draft_for(tenant), None, recover=False)
    # The customer came back with all (no) subscriptions: nothing to look for, one anchor made.
    assert "SubscriptionService.list" not in seen and seen.count("SubscriptionService.create") == 1
    assert ref.total_minor == 6134
    assert len(server.subscriptions.list(params={"customer": customer_id}).data) == 1


def test_pay_with_a_stale_known_status_charges_once(adapter, tenant):
    customer_id = customer_for(adapter, tenant)
    ref = adapter.push_invoice(customer_id, draft_for(tenant), None, recover=False)
    assert adapter.pay_invoice(ref.stripe_invoice_id, ref.status).status == "paid"
    # A caller that passes the pushed status again hits Stripe's "already paid": an error, never a charge.
    with pytest.raises(PermanentError):
        adapter.pay_invoice(ref.stripe_invoice_id, ref.status)
    assert adapter.pay_invoice(ref.stripe_invoice_id).status == "paid"


def test_pay_marks_paid_and_is_idempotent(adapter, tenant):
    customer_id = customer_for(adapter, tenant)
    ref = adapter.push_invoice(customer_id, draft_for(tenant), None)
    assert ref.status == "draft"
    paid = adapter.pay_invoice(ref.stripe_invoice_id)
    assert paid.status == "paid" and paid.total_minor == 6134
    assert adapter.pay_invoice(ref.stripe_invoice_id).status == "paid"
    assert adapter.push_invoice(customer_id, draft_for(tenant), None).status == "paid"


def test_jpy_invoice_is_in_whole_yen(adapter, tenant):
    plan = Plan(slug="jp", name="JP", currency="JPY", flat_fee=D(980),
                charges=[UnitCharge(meter_slug="api", unit_price=D("0.5"))])
    customer_id = customer_for(adapter, tenant)
    draft = draft_for(tenant, plan=plan, api_calls=D(3))  # 980 + round(1.5) = 982 yen
    ref = adapter.push_invoice(customer_id, draft, None)
    assert ref.total_minor == draft.total_minor == 982
    assert adapter.pay_invoice(ref.stripe_invoice_id).status == "paid"


def test_declined_card_raises_payment_declined(adapter, server, tenant):
    customer_id = customer_for(adapter, tenant)
    # 4000000000000341: attaches fine, every charge is declined.
    card = server.payment_methods.create(params={"type": "card", "card": {
        "number": "4000000000000341", "exp_month": 12, "exp_year": 2099, "cvc": "123"}})
    server.payment_methods.attach(card.id, params={"customer": customer_id})
    server.customers.update(customer_id, params={"invoice_settings": {"default_payment_method": card.id}})
    ref = adapter.push_invoice(customer_id, draft_for(tenant), None)
    with pytest.raises(PaymentDeclinedError):
        adapter.pay_invoice(ref.stripe_invoice_id)


class DictStore:
    """Just enough InvoiceStore to run the service on the real adapter."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], StoredInvoice] = {}
        self.push_started: set[tuple[str, str]] = set()

    def get(self, tenant_id: str, number: str) -> StoredInvoice | None:
        return self.rows.get((tenant_id, number))

    def create(self, tenant_id: str, draft: InvoiceDraft) -> StoredInvoice:
        return self.rows.setdefault((tenant_id, draft.number), StoredInvoice(draft=draft))

    def start_stripe_push(self, tenant_id: str, number: str) -> bool:
        first = (tenant_id, number) not in self.push_started
        self.push_started.add((tenant_id, number))
        return first

    def attach_stripe(self, tenant_id: str, number: str, stripe_invoice_id: str, status: InvoiceStatus) -> None:
        self.rows[(tenant_id, number)] = self.rows[(tenant_id, number)].model_copy(
            update={"stripe_invoice_id": stripe_invoice_id, "status": status})

    def set_status(self, tenant_id: str, number: str, status: InvoiceStatus) -> None:
        self.rows[(tenant_id, number)] = self.rows[(tenant_id, number)].model_copy(update={"status": status})


def test_issue_invoice_on_the_real_adapter_survives_a_lost_stripe_id(adapter, server, tenant):
    tenant_id, slug = tenant
    customer_id = customer_for(adapter, tenant)
    store = DictStore()
    kwargs = dict(store=store, gateway=adapter, tenant_id=tenant_id, tenant_slug=slug, customer_id=customer_id,
                  plan=PLAN, usage={"api": D(1234)}, period_start=date(2026, 11, 1), period_end=date(2026, 12, 1))
    # A first run recorded its push, pushed to Stripe, then crashed before storing the Stripe id.
    draft = store.create(tenant_id, draft_for(tenant)).draft
    assert store.start_stripe_push(tenant_id, draft.number)
    adapter.push_invoice(customer_id, draft, None, recover=False)
    stored = issue_invoice(**kwargs)
    assert stored.status == "paid" and stored.stripe_invoice_id
    assert issue_invoice(**kwargs) == stored
    assert [invoice["id"] for invoice in our_invoices(server, customer_id, draft.number)] == [stored.stripe_invoice_id]


def test_missing_invoice_is_a_permanent_error(adapter):
    with pytest.raises(PermanentError):
        adapter.pay_invoice("in_does_not_exist")


def test_unreachable_server_is_retryable_after_retries():
    adapter = StripeAdapter("sk_test_x", "http://127.0.0.1:9", local=True, max_attempts=2, backoff_initial_s=0.01)
    with pytest.raises(RetryableError):
        adapter.pay_invoice("in_anything")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (stripe.RateLimitError("slow down", http_status=429), RetryableError),
        (stripe.APIConnectionError("reset"), RetryableError),
        (stripe.APIError("boom", http_status=500), RetryableError),
        (stripe.APIError("in flight", http_status=409), RetryableError),
        (stripe.InvalidRequestError("locked", None, code="lock_timeout", http_status=400), RetryableError),
        (stripe.CardError("declined", None, "card_declined", http_status=402), PaymentDeclinedError),
        (stripe.InvalidRequestError("bad", "amount", http_status=400), PermanentError),
        (stripe.AuthenticationError("no key", http_status=401), PermanentError),
        (stripe.PermissionError("nope", http_status=403), PermanentError),
        (stripe.IdempotencyError("reused key", http_status=400), PermanentError),
    ],
    ids=["rate-limit", "connection", "5xx", "409-conflict", "lock-timeout", "card", "invalid-request", "auth",
         "permission", "idempotency-conflict"],
)
def test_error_translation(error, expected):
    translated = translate_stripe_error(error)
    assert type(translated) is expected or (expected is PermanentError and isinstance(translated, PermanentError)
                                             and not isinstance(translated, PaymentDeclinedError))
