"""Every kind of request StripeAdapter sends to real Stripe (local=False) is accepted by stripe-mock.

stripe-mock is Stripe's own mock: stateless, its answers are fixtures, but it
validates each request (path, method, every parameter) against the OpenAPI
spec of its release, so a request it accepts is one real Stripe accepts. The
answers' content is meaningless here; the test checks that no call is refused.

The fixture builds stripe-mock with `go install` when it is not already built
(into $METERLINE_STRIPE_MOCK_GOBIN, default the test run directory's .run/test/tools/bin) and
fails, never skips, when Go is missing.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from billing_jobs.invoicing import compose_invoice
from billing_jobs.plans import Plan, UnitCharge
from billing_jobs.stripe import StripeAdapter
from infra.processes import ManagedProcess
from tests.support.tools import go_install

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stripe_mock_binary() -> Path:
    gobin = os.environ.get("METERLINE_STRIPE_MOCK_GOBIN")
    return go_install("github.com/stripe/stripe-mock@latest", "stripe-mock", Path(gobin) if gobin else None)


@pytest.fixture(scope="module")
def stripe_mock(tmp_path_factory) -> str:
    port = _free_port()

    def ready() -> bool:
        return httpx.get(f"http://127.0.0.1:{port}/v1/customers", auth=("sk_test_123", ""), timeout=1).status_code == 200

    process = ManagedProcess(name="stripe-mock", command=[str(_stripe_mock_binary()), "-http-port", str(port)],
                             state_dir=tmp_path_factory.mktemp("stripe-mock"), ready=ready, port=port,
                             start_timeout_s=30)
    process.start()
    yield f"http://127.0.0.1:{port}"
    process.stop()


@pytest.fixture
def adapter(stripe_mock) -> StripeAdapter:
    return StripeAdapter("sk_test_123", stripe_mock, local=False, max_attempts=1)


PLAN = Plan(slug="pro", name="Pro", currency="USD", flat_fee=Decimal("49.00"),
            charges=[UnitCharge(meter_slug="api", unit_price=Decimal("0.01"))])


def test_customer_requests_are_accepted(adapter):
    tenant_id = f"tenant-{uuid.uuid4().hex[:8]}"
    # retrieve (by id), list by email, create with metadata and an idempotency key
    customer_id = adapter.ensure_customer(tenant_id, "Acme", "billing@acme.example", "cus_123")
    assert customer_id.startswith("cus_")
    assert adapter.ensure_customer(tenant_id, "Acme", "billing@acme.example", None).startswith("cus_")


def test_invoice_requests_are_accepted(adapter):
    draft = compose_invoice(tenant_slug="acme", tenant_id="tenant-1", plan=PLAN, usage={"api": Decimal(1234)},
                            period_start=date(2026, 11, 1), period_end=date(2026, 12, 1))
    assert len(draft.lines) >= 2
    calls: list[str] = []
    call = adapter._call
    adapter._call = lambda fn, *a, **kw: calls.append(fn.__name__) or call(fn, *a, **kw)
    # Recovery: invoices.list finds none of ours, invoice_items.list(pending=true) finds no item
    # an older version left; then invoices.create (currency, pending_invoice_items_behavior=exclude,
    # collection_method, auto_advance, metadata) and every line in ONE add_lines call.
    ref = adapter.push_invoice("cus_123", draft, None)
    assert ref.stripe_invoice_id.startswith("in_")
    assert calls == ["list", "create", "list", "add_lines"]
    # A first push (our record says nothing of it is in Stripe): no look-up, 2 calls for all the lines.
    calls.clear()
    assert adapter.push_invoice("cus_123", draft, None, recover=False).stripe_invoice_id.startswith("in_")
    assert calls == ["create", "add_lines"]
    # Recovery of a draft found: its lines, paginated (invoices/{id}/lines), and add_lines
    # assigning an item an older attempt left pending instead of creating the line again.
    assert isinstance(list(adapter._list(adapter._v1.invoices.line_items.list, ref.stripe_invoice_id)), list)
    assert adapter._call(adapter._v1.invoices.add_lines, ref.stripe_invoice_id, key="k-assign",
                         lines=[{"invoice_item": "ii_123"}])["id"]
    # invoices.retrieve by id (stripe-mock's fixture invoice belongs to its fixture customer)
    owner = adapter._call(adapter._v1.invoices.retrieve, ref.stripe_invoice_id)["customer"]
    assert adapter.push_invoice(owner, draft, ref.stripe_invoice_id).stripe_invoice_id


def test_payment_requests_are_accepted(adapter, stripe_mock):
    # retrieve, then finalize_invoice (for a draft) and pay, each with an idempotency key.
    client = StripeAdapter("sk_test_123", stripe_mock, local=False, max_attempts=1)
    ref = client.pay_invoice("in_123")
    assert ref.stripe_invoice_id
    # The status push_invoice just returned: no retrieve, straight to finalize and pay.
    assert client.pay_invoice("in_123", "draft").stripe_invoice_id
    # finalize and pay directly, as pay_invoice does for a draft invoice
    assert client._call(client._v1.invoices.finalize_invoice, "in_123", key="k-finalize", auto_advance=False)["id"]
    assert client._call(client._v1.invoices.pay, "in_123", key="k-pay")["id"]
