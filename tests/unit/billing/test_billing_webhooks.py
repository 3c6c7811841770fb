"""Webhook events -> invoice changes, and the forward-only precedence that makes order irrelevant."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_jobs.stripe.webhooks import StripeEvent, interpret_event, parse_event
from billing_jobs.webhooks import CustomerDeleted, InvoiceChange, PaymentRecord, status_after

STATUSES = ["open", "payment_failed", "paid", "refunded", "void"]


def event(type_: str, obj: dict, id_: str = "evt_1") -> StripeEvent:
    return parse_event({"id": id_, "type": type_, "created": 1_790_000_000, "data": {"object": obj}})


@pytest.mark.parametrize(("type_", "obj", "expected"), [
    ("invoice.paid", {"id": "in_1", "customer": "cus_1", "charge": "ch_1", "amount_paid": 6134},
     InvoiceChange("cus_1", "in_1", "paid", PaymentRecord("ch_1", 6134, "succeeded"))),
    ("invoice.payment_succeeded", {"id": "in_1", "customer": "cus_1", "total": 500},
     InvoiceChange("cus_1", "in_1", "paid", PaymentRecord("evt_1", 500, "succeeded"))),
    ("invoice.payment_failed", {"id": "in_1", "customer": "cus_1", "charge": "ch_2", "amount_due": 6134},
     InvoiceChange("cus_1", "in_1", "payment_failed", PaymentRecord("ch_2:evt_1", 6134, "failed"))),
    ("invoice.voided", {"id": "in_1", "customer": "cus_1"}, InvoiceChange("cus_1", "in_1", "void", None)),
    ("charge.refunded", {"id": "ch_1", "customer": "cus_1", "invoice": "in_1", "amount_refunded": 6134,
                         "refunded": True},
     InvoiceChange("cus_1", "in_1", "refunded", PaymentRecord("ch_1:refund:evt_1", 6134, "refunded"))),
    ("charge.refunded", {"id": "ch_1", "customer": "cus_1", "invoice": "in_1", "amount_refunded": 100,
                         "refunded": False},
     InvoiceChange("cus_1", "in_1", None, PaymentRecord("ch_1:refund:evt_1", 100, "refunded"))),
    ("charge.refunded", {"id": "ch_1", "customer": "cus_1", "invoice": None}, None),
    ("customer.deleted", {"id": "cus_1"}, CustomerDeleted("cus_1")),
    ("customer.created", {"id": "cus_1"}, None),
], ids=["paid", "payment-succeeded", "failed", "voided", "refunded", "partial-refund", "refund-no-invoice",
        "customer-deleted", "not-followed"])
def test_interpret_event(type_, obj, expected):
    assert interpret_event(event(type_, obj)) == expected


def test_parse_event_keeps_created_as_utc():
    assert event("x", {}).created == datetime.fromtimestamp(1_790_000_000, tz=timezone.utc)


@pytest.mark.parametrize("bad", [{}, {"id": "e", "type": "t", "created": "x", "data": {"object": {}}},
                                 {"id": "e", "type": "t", "created": 1}], ids=["empty", "bad-created", "no-data"])
def test_parse_event_refuses_non_events(bad):
    with pytest.raises(ValueError, match="not a Stripe event"):
        parse_event(bad)


@pytest.mark.parametrize(("current", "incoming", "expected"), [
    ("open", "paid", "paid"), ("payment_failed", "paid", "paid"), ("paid", "payment_failed", "paid"),
    ("refunded", "paid", "refunded"), ("paid", "refunded", "refunded"), ("open", "void", "void"),
    ("void", "paid", "void"), ("draft", "payment_failed", "payment_failed"),
], ids=lambda v: v)
def test_status_only_moves_forward(current, incoming, expected):
    assert status_after(current, incoming) == expected


@given(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=6), st.randoms())
def test_any_delivery_order_ends_in_the_same_state(statuses, rnd):
    shuffled = list(statuses)
    rnd.shuffle(shuffled)
    assert reduce(status_after, statuses, "open") == reduce(status_after, shuffled, "open")
