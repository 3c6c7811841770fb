"""The launcher's index of localstripe's store (infra/localstripe_index.py) answers
exactly what localstripe's own full-store scans answer.

localstripe's real code runs in this process (its resources module, no server): a
workload of the kinds of calls Meterline makes (customers, cards, anchor plans and
subscriptions, invoice items, invoices, payments) plus the ones that move objects
between index entries (email changes, deleted items, refunds, a flushed store). At
each checkpoint every list the index serves is computed twice, through the index and
through localstripe's original list methods swapped back in, and the exports compared.
The HTTP side is covered by every localstripe-backed test, which runs the patched server.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib

import pytest

resources = importlib.import_module("localstripe.resources")
from infra import localstripe_index  # noqa: E402

_INDEXED_CLASSES = {
    "invoiceitem": resources.InvoiceItem,
    "invoice": resources.Invoice,
    "subscription": resources.Subscription,
    "charge": resources.Charge,
    "customer": resources.Customer,
}
_ORIGINAL_LISTS = {cls: cls.__dict__["_api_list_all"] for cls in [resources.StripeObject, *_INDEXED_CLASSES.values()]}


@pytest.fixture(scope="module")
def patched():
    assert set(_INDEXED_CLASSES) == set(localstripe_index.INDEXED_ATTRIBUTES)
    resources.store.clear()
    localstripe_index.install()
    yield
    resources.store.clear()


@contextlib.contextmanager
def _localstripe_as_shipped():
    patched_lists = {cls: cls.__dict__["_api_list_all"] for cls in _ORIGINAL_LISTS}
    for cls, original in _ORIGINAL_LISTS.items():
        setattr(cls, "_api_list_all", original)
    try:
        yield
    finally:
        for cls, patched_list in patched_lists.items():
            setattr(cls, "_api_list_all", patched_list)


def _both(call):
    """(through the index, as shipped) of `call()`'s export, or of the error it raises."""
    def run():
        try:
            return call()._export()
        except resources.UserError as err:
            return ("error", err.code)
    indexed = run()
    with _localstripe_as_shipped():
        shipped = run()
    return indexed, shipped


def _assert_same_answers(customers: list[str], emails: list[str]) -> int:
    compared = 0
    calls = []
    for customer in [*customers, "cus_unknown", ""]:
        calls += [
            lambda c=customer: resources.InvoiceItem._api_list_all(None, customer=c, limit=100),
            lambda c=customer: resources.Invoice._api_list_all(None, customer=c, limit=100),
            lambda c=customer: resources.Subscription._api_list_all(None, customer=c, limit=100),
            lambda c=customer: resources.Subscription._api_list_all(None, customer=c, status="all", limit=100),
            lambda c=customer: resources.Charge._api_list_all(None, customer=c, limit=100),
        ]
        if customer.startswith("cus_") and customer != "cus_unknown":
            calls.append(lambda c=customer: resources.Customer._api_retrieve(c))  # embeds its subscriptions
    for email in [*emails, "nobody@example.test", ""]:
        calls.append(lambda e=email: resources.Customer._api_list_all(None, email=e, limit=100))
    for cls in (*_INDEXED_CLASSES.values(), resources.Refund, resources.Plan, resources.PaymentMethod):
        calls.append(lambda k=cls: k._api_list_all(None, limit=100))
        calls.append(lambda k=cls: k._api_list_all(None, limit=2))
    for charge in list(resources.store.values()):
        if isinstance(charge, resources.Charge):
            calls.append(lambda ch=charge: resources.Charge._api_retrieve(ch.id))  # refunds, amount_refunded
    for call in calls:
        indexed, shipped = _both(call)
        assert indexed == shipped
        compared += 1
    return compared


async def _workload() -> None:
    customers: list[str] = []
    emails = ["a@example.test", "b@example.test", "shared@example.test"]
    resources.Product._api_create(id="anchor", name="anchor")
    plan = resources.Plan._api_create(id="anchor-usd", product="anchor", amount=0, currency="usd", interval="month")
    for n in range(6):
        customer = resources.Customer._api_create(name=f"c{n}", email=emails[n % 3], metadata={"n": str(n)})
        customers.append(customer.id)
        card = resources.PaymentMethod._api_create(
            type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"})
        resources.PaymentMethod._api_attach(card.id, customer=customer.id)
        resources.Customer._api_update(customer.id, invoice_settings={"default_payment_method": card.id})
    assert _assert_same_answers(customers, emails) > 0

    subscriptions = {c: resources.Subscription._api_create(customer=c, items=[{"plan": plan.id}]).id
                     for c in customers[:5]}
    for month in range(3):
        for n, customer in enumerate(customers[:5]):
            items = [resources.InvoiceItem._api_create(customer=customer, amount=100 * (n + 1) + line,
                                                       currency="usd", description=f"m{month} line {line}")
                     for line in range(4)]
            if n == 1:
                resources.InvoiceItem._api_delete(items[0].id)
            if n == 4 and month == 2:
                continue  # pending items left behind on purpose
            invoice = resources.Invoice._api_create(customer=customer, subscription=subscriptions[customer])
            resources.Invoice._api_pay_invoice(invoice.id)
        await asyncio.sleep(0)
        assert _assert_same_answers(customers, emails) > 0

    charges = [obj for obj in resources.store.values() if isinstance(obj, resources.Charge) and obj.amount > 0]
    resources.Refund._api_create(charge=charges[0].id, amount=50)
    resources.Refund._api_create(charge=charges[0].id, amount=charges[0].amount - 50)
    resources.Refund._api_create(charge=charges[1].id, amount=1)
    # Moving between index entries: a new email, one set on a customer that had none.
    resources.Customer._api_update(customers[0], email="b@example.test")
    late = resources.Customer._api_create(name="late")
    resources.Customer._api_update(late.id, email="late@example.test")
    customers.append(late.id)
    emails.append("late@example.test")
    assert _assert_same_answers(customers, emails) > 0

    resources.store.clear()
    assert _assert_same_answers(customers, emails) > 0
    again = resources.Customer._api_create(name="again", email="a@example.test")
    resources.InvoiceItem._api_create(customer=again.id, amount=7, currency="usd")
    assert _assert_same_answers([again.id], emails) > 0


def test_index_answers_what_the_full_store_scans_answer(patched):
    asyncio.run(_workload())


def test_store_refuses_writes_that_would_bypass_the_index(patched):
    with pytest.raises(NotImplementedError):
        resources.store.setdefault("customer:cus_x", None)
    with pytest.raises(NotImplementedError):
        resources.store.pop("customer:cus_x", None)
