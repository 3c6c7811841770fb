"""`POST /v1/invoices/{id}/add_lines` on the localstripe that infra/ launches
(infra/localstripe_add_lines.py), through stripe-python as the adapter calls it.

The server is the real launched process (`stripe_service`); each test makes its own
customer, so tests sharing the server never see each other's objects.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import stripe

import infra.localstripe as localstripe_launcher

pytestmark = pytest.mark.integration


@pytest.fixture
def server(stripe_service):
    if not stripe_service.local:
        pytest.skip("add_lines is added to the launched localstripe; a real Stripe has its own")
    return stripe.StripeClient(stripe_service.api_key, base_addresses={"api": stripe_service.api_base},
                               max_network_retries=0).v1


@pytest.fixture
def customer(server) -> str:
    return server.customers.create(params={"email": f"{uuid.uuid4().hex[:10]}@example.com"}).id


@pytest.fixture
def plan(server) -> str:
    """A per-unit USD price (a plan: localstripe's prices), for invoices that hang on a subscription."""
    plan_id = f"add-lines-{uuid.uuid4().hex[:10]}"
    server.plans.create(params={"id": plan_id, "amount": 0, "currency": "usd", "interval": "month",
                                "product": {"name": "Add lines test"}})
    return plan_id


@pytest.fixture
def draft(server, customer, plan) -> stripe.Invoice:
    """A draft USD invoice with no lines of its own but its subscription's $0 line."""
    card = server.payment_methods.create(params={"type": "card", "card": {
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}})
    server.payment_methods.attach(card.id, params={"customer": customer})
    server.customers.update(customer, params={"invoice_settings": {"default_payment_method": card.id}})
    subscription = server.subscriptions.create(params={"customer": customer, "items": [{"plan": plan}]})
    invoice = server.invoices.create(params={"customer": customer, "subscription": subscription.id,
                                             "metadata": {"ours": "yes"}})
    assert invoice.status == "draft" and invoice.total == 0
    return invoice


def error_of(call) -> stripe.StripeError:
    with pytest.raises(stripe.StripeError) as caught:
        call()
    return caught.value


def lines_of(server, invoice_id: str) -> list[dict]:
    return [line.to_dict() for line in server.invoices.line_items.list(invoice_id, params={"limit": 100}).data]


def test_invoice_metadata_given_at_creation_is_kept(server, draft):
    assert server.invoices.retrieve(draft.id).metadata.to_dict() == {"ours": "yes"}


def test_lines_by_amount_are_added_in_one_call_and_the_invoice_returned(server, draft):
    invoice = server.invoices.add_lines(draft.id, params={"lines": [
        {"amount": 4900, "description": "INV-1 #1: Pro", "metadata": {"position": "1"},
         "period": {"start": 1_790_000_000, "end": 1_792_592_000}, "discountable": True},
        {"amount": 1234, "description": "INV-1 #2: api calls", "metadata": {"position": "2"}},
        {"amount": -500, "description": "INV-1 #3: credit"},
    ], "invoice_metadata": {"added": "2"}})
    assert invoice.id == draft.id and invoice.object == "invoice"
    assert invoice.status == "draft"
    assert invoice.total == 4900 + 1234 - 500
    assert invoice.metadata.to_dict() == {"ours": "yes", "added": "2"}
    added = [line for line in lines_of(server, draft.id) if line["type"] == "invoiceitem"]
    # After the subscription's line, in the order sent, each backed by an invoice item of the invoice.
    assert [(line["amount"], line["description"]) for line in added] == [
        (4900, "INV-1 #1: Pro"), (1234, "INV-1 #2: api calls"), (-500, "INV-1 #3: credit")]
    assert [line["metadata"] for line in added] == [{"position": "1"}, {"position": "2"}, {}]
    assert added[0]["period"] == {"start": 1_790_000_000, "end": 1_792_592_000}
    assert [line["discountable"] for line in added] == [True, True, False]
    assert {line["currency"] for line in added} == {"usd"}
    for line in added:
        item = server.invoice_items.retrieve(line["invoice_item"])
        assert item.invoice == draft.id and item.amount == line["amount"]
    # Paying charges the sum of the lines.
    paid = server.invoices.pay(draft.id)
    assert paid.status == "paid" and paid.amount_paid == 5634


def test_price_data_and_pricing_lines_are_priced_by_quantity(server, draft, plan):
    unit_price = f"unit-{uuid.uuid4().hex[:10]}"
    product = server.products.create(params={"name": "Widgets"})
    server.plans.create(params={"id": unit_price, "amount": 250, "currency": "usd", "interval": "month",
                                "product": product.id})
    invoice = server.invoices.add_lines(draft.id, params={"lines": [
        {"price_data": {"currency": "usd", "product": product.id, "unit_amount": 120}, "quantity": 3},
        {"pricing": {"price": unit_price}, "quantity": 2, "description": "two widgets"},
    ]})
    assert invoice.total == 360 + 500
    added = [line for line in lines_of(server, draft.id) if line["type"] == "invoiceitem"]
    assert [line["amount"] for line in added] == [360, 500]


def test_a_pending_invoice_item_is_assigned_not_copied(server, draft, customer):
    item = server.invoice_items.create(params={"customer": customer, "amount": 700, "currency": "usd",
                                               "description": "left pending"})
    invoice = server.invoices.add_lines(draft.id, params={"lines": [{"invoice_item": item.id}]})
    assert invoice.total == 700
    assert server.invoice_items.retrieve(item.id).invoice == draft.id
    assert [line["invoice_item"] for line in lines_of(server, draft.id) if line["type"] == "invoiceitem"] == [item.id]
    # Assigned once: a second assignment is refused.
    error = error_of(lambda: server.invoices.add_lines(draft.id, params={"lines": [{"invoice_item": item.id}]}))
    assert error.http_status == 400 and error.param == "lines[0][invoice_item]"


def test_only_a_draft_takes_lines(server, draft):
    server.invoices.add_lines(draft.id, params={"lines": [{"amount": 1000}]})
    assert server.invoices.pay(draft.id).status == "paid"
    error = error_of(lambda: server.invoices.add_lines(draft.id, params={"lines": [{"amount": 100}]}))
    assert isinstance(error, stripe.InvalidRequestError) and error.http_status == 400
    assert error.code == "invoice_not_editable"
    assert server.invoices.retrieve(draft.id).total == 1000


@pytest.mark.parametrize("lines, param", [
    ([{"description": "no price"}], "lines[0]"),
    ([{"amount": 100, "price_data": {"currency": "usd", "product": "x", "unit_amount": 1}}], "lines[0]"),
    ([{"amount": "ten"}], "lines[0][amount]"),
    ([{"amount": 100, "metadata": {"nested": {"a": "b"}}}], "lines[0][metadata]"),
    ([{"amount": 100, "period": {"start": 1_800_000_000, "end": 1_700_000_000}}], "lines[0][period]"),
    ([{"amount": 100, "discountable": "maybe"}], "lines[0][discountable]"),
    ([{"amount": 100, "colour": "red"}], "lines[0][colour]"),
    ([{"amount": 100}, {"amount": 100, "tax_rates": ["txr_1"]}], "lines[1][tax_rates]"),
    ([{"price_data": {"currency": "eur", "product": "x", "unit_amount": 1}}], "lines[0][price_data][currency]"),
    ([], "lines"),
], ids=["no-price", "two-prices", "bad-amount", "bad-metadata", "backward-period", "bad-discountable",
        "unknown-field", "tax-rates", "other-currency", "no-lines"])
def test_a_bad_request_answers_stripes_error_shape_and_changes_nothing(server, draft, lines, param):
    error = error_of(lambda: server.invoices.add_lines(draft.id, params={"lines": lines}))
    assert isinstance(error, stripe.InvalidRequestError) and error.http_status == 400
    assert error.param == param
    assert error.json_body["error"]["type"] == "invalid_request_error" and error.json_body["error"]["message"]
    # All or nothing: a good line before the bad one was not added either.
    assert server.invoices.retrieve(draft.id).total == 0
    assert [line for line in lines_of(server, draft.id) if line["type"] == "invoiceitem"] == []


def test_an_unknown_invoice_is_a_404(server):
    error = error_of(lambda: server.invoices.add_lines("in_doesnotexist", params={"lines": [{"amount": 1}]}))
    assert isinstance(error, stripe.InvalidRequestError) and error.http_status == 404


def _serve(command: list[str], port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, *command, "--port", str(port), "--from-scratch"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/customers", auth=("sk_test_x", ""), timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"localstripe on {port} did not start")


def test_a_stock_localstripe_left_running_is_not_taken_for_ready():
    """A server without the launcher's add_lines (stock, or an older checkout's) fails every
    invoice with a 404; the launcher must not reuse it as ready. Both are real processes."""
    ports = [int(os.environ["METERLINE_STRIPE__PORT"]) + offset for offset in (1, 2)]
    stock = _serve(["-m", "localstripe"], ports[0])
    launched = _serve(["-c", localstripe_launcher._LAUNCHER], ports[1])
    try:
        assert localstripe_launcher._ready(ports[0]) is False
        assert localstripe_launcher._ready(ports[1]) is True
    finally:
        for process in (stock, launched):
            process.kill()
            process.wait()
