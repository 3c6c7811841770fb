"""Which lines a push to real Stripe adds to the invoice (pure: StripeAdapter's add_lines path).

A rerun after a crash sees the draft invoice's lines and the customer's pending items;
it must add exactly the lines the invoice lacks, each once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing_jobs.invoicing import compose_invoice
from billing_jobs.plans import Plan, UnitCharge
from billing_jobs.stripe import NUMBER_KEY, POSITION_KEY, lines_to_add, position_on_invoice

PLAN = Plan(slug="pro", name="Pro", currency="USD", flat_fee=Decimal("49.00"),
            charges=[UnitCharge(meter_slug="api", unit_price=Decimal("0.01")),
                     UnitCharge(meter_slug="gb", unit_price=Decimal("0.50"))])
DRAFT = compose_invoice(tenant_slug="acme", tenant_id="t-1", plan=PLAN,
                        usage={"api": Decimal(1234), "gb": Decimal(10)},
                        period_start=date(2026, 11, 1), period_end=date(2026, 12, 1))
POSITIONS = [line.position for line in DRAFT.lines]


def line_of(position: int, number: str = DRAFT.number) -> dict:
    return {"id": f"il_{position}", "metadata": {NUMBER_KEY: number, POSITION_KEY: str(position)},
            "description": f"{number} #{position}: x"}


def test_the_draft_has_several_lines():
    assert len(POSITIONS) == 3


@pytest.mark.parametrize(("present", "pending", "expected"), [
    ([], [], [("new", p) for p in POSITIONS]),
    ([line_of(POSITIONS[0])], [], [("new", p) for p in POSITIONS[1:]]),
    ([line_of(p) for p in POSITIONS], [], []),
    # An item an older attempt created for line 2, still pending: assigned, not recreated.
    ([line_of(POSITIONS[0])], [{**line_of(POSITIONS[1]), "id": "ii_2", "invoice": None}],
     [("ii_2", POSITIONS[1]), ("new", POSITIONS[2])]),
    # An item already on another invoice, or one of another invoice number, is not ours to assign.
    ([], [{**line_of(POSITIONS[0]), "id": "ii_x", "invoice": "in_other"},
          {**line_of(POSITIONS[0], number="OTHER-1"), "id": "ii_y", "invoice": None}],
     [("new", p) for p in POSITIONS]),
    # A line whose metadata did not survive is still known by its description.
    ([{"id": "il_d", "metadata": {}, "description": f"{DRAFT.number} #{POSITIONS[2]}: flat fee"}], [],
     [("new", p) for p in POSITIONS[:2]]),
], ids=["none-present", "first-present", "all-present", "pending-item-assigned", "foreign-items-ignored",
        "by-description"])
def test_only_the_missing_lines_are_added_each_once(present, pending, expected):
    entries = lines_to_add(DRAFT, present, pending)
    # ("new", position) for a created line, (item id, position) for an assigned item
    got = [("new", int(entry["metadata"][POSITION_KEY])) if "metadata" in entry else entry["invoice_item"]
           for entry in entries]
    assert got == [("new", position) if kind == "new" else kind for kind, position in expected]


def test_a_new_line_carries_amount_description_and_our_markers():
    line = DRAFT.lines[0]
    (entry, *_) = lines_to_add(DRAFT, [], [])
    assert entry == {
        "amount": line.amount_minor,
        "description": f"{DRAFT.number} #{line.position}: {line.description}",
        "metadata": {NUMBER_KEY: DRAFT.number, POSITION_KEY: str(line.position), "meterline_tenant_id": "t-1"},
    }
    assert position_on_invoice(entry, DRAFT.number) == line.position
    assert position_on_invoice(entry, "ANOTHER-NUMBER") is None
