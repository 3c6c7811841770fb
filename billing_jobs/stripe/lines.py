"""Our marks on Stripe lines and invoice items, and which of a draft's lines an invoice lacks.

Lines are matched on metadata `meterline_invoice_number` + `meterline_line_position`
(the description also starts with "<number> #<position>:" as a second marker), so a
rerun adds only the missing ones; pending invoice items an earlier version of this
adapter created (one per line) are matched the same way and assigned to the invoice,
never billed again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..invoicing import InvoiceDraft, InvoiceLine

__all__ = ["NUMBER_KEY", "POSITION_KEY", "TENANT_KEY", "lines_to_add", "position_on_invoice"]

TENANT_KEY = "meterline_tenant_id"
NUMBER_KEY = "meterline_invoice_number"
POSITION_KEY = "meterline_line_position"


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _item_description(number: str, line: InvoiceLine) -> str:
    return f"{number} #{line.position}: {line.description}"


def position_on_invoice(obj: dict[str, Any], number: str) -> int | None:
    """The line position of invoice `number` that a Stripe line or invoice item carries, if any."""
    meta = _metadata(obj)
    if meta.get(NUMBER_KEY) == number and str(meta.get(POSITION_KEY, "")).isdigit():
        return int(meta[POSITION_KEY])
    # The description marker, for an object whose metadata did not survive.
    description = obj.get("description") or ""
    marker = f"{number} #"
    if description.startswith(marker):
        position = description[len(marker):].split(":", 1)[0]
        if position.isdigit():
            return int(position)
    return None


def lines_to_add(draft: InvoiceDraft, present_lines: Iterable[dict[str, Any]],
                 pending_items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """add_lines entries for the draft's lines the Stripe invoice lacks, in order.

    A line already on the invoice is skipped; one an earlier attempt left as a pending
    invoice item is assigned by the item's id (billed once); any other is created."""
    present = {position_on_invoice(line, draft.number) for line in present_lines}
    pending: dict[int, str] = {}
    for item in pending_items:
        position = position_on_invoice(item, draft.number)
        if position is not None and not item.get("invoice"):
            pending.setdefault(position, item["id"])
    entries: list[dict[str, Any]] = []
    for line in draft.lines:
        if line.position in present:
            continue
        if line.position in pending:
            entries.append({"invoice_item": pending[line.position]})
            continue
        entries.append({
            "amount": line.amount_minor,
            "description": _item_description(draft.number, line),
            "metadata": {NUMBER_KEY: draft.number, POSITION_KEY: str(line.position), TENANT_KEY: draft.tenant_id},
        })
    return entries

