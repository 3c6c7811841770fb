"""`POST /v1/invoices/{id}/add_lines` for localstripe (see `infra/localstripe.py`).

Real Stripe adds all of an invoice's lines in one call; localstripe 1.15 has no such
endpoint (404), so against it the adapter used to create one invoice item per line:
~22 calls an invoice instead of ~8, and 74% of the invoicing bench's task time was
spent in Stripe calls (bench/README.md "Billing"). This adds the endpoint to the
launched localstripe, as Stripe documents it for the parameters Meterline sends and
their close relatives (https://docs.stripe.com/api/invoice-line-item/bulk):

- `lines` (required, 1-250 entries), each either
  - `invoice_item`: the id of a pending (unassigned) invoice item of the invoice's
    customer, assigned to the invoice as it is; or
  - a new line priced by exactly one of `amount` (integer minor units; negative is a
    credit), `price_data` (`currency`, `product`, `unit_amount`; times `quantity`) or
    `pricing` (`{"price": id}`, times `quantity`; localstripe's per-unit plans are its
    prices), with optional `description`, `metadata` (string values), `period`
    (`start` <= `end`, unix seconds) and `discountable` (boolean);
- `invoice_metadata`: merged into the invoice's metadata;
- the invoice must be a draft;
- it answers the invoice, with the new lines after the existing ones;
- a bad request answers Stripe's error shape (`{"error": {"type":
  "invalid_request_error", "message", "param"}}`, HTTP 400; an unknown id 404) and
  changes nothing: every line is checked before any is added.

Each new line is backed by an invoice item assigned to the invoice, as on Stripe (the
line's `invoice_item`), and follows localstripe's own lines: it carries the item's
metadata, and the invoice's total is the sum of its lines.

Not modelled, refused rather than ignored: `discounts`, `tax_rates`, `tax_amounts`,
tiered prices and `price_data.unit_amount_decimal`. No `invoice.updated` event is sent
(localstripe sends none for other invoice updates either).

Also fixed here: localstripe's `POST /v1/invoices` accepts `metadata` and drops it
(`_api_create` never passes it on). Stripe keeps it, and the adapter finds a draft that
a crash left without lines by that metadata alone.

`tests/integration/test_localstripe_add_lines.py` runs these against the launched server.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_LINES_PER_CALL", "install"]

# Stripe's limit on the lines of one add_lines call.
MAX_LINES_PER_CALL = 250

_NEW_LINE_FIELDS = {"amount", "price_data", "pricing", "quantity", "description", "metadata", "period",
                    "discountable"}
_REFUSED_FIELDS = {"discounts", "tax_rates", "tax_amounts"}


def install() -> None:
    """Add the endpoint and the metadata fix; call before `localstripe.server` is imported
    (it registers `extra_apis` as routes on import)."""
    import localstripe.resources as resources

    _keep_invoice_metadata(resources)
    resources.extra_apis.append(("POST", "/v1/invoices/{id}/add_lines", _add_lines_api(resources)))


def _keep_invoice_metadata(resources) -> None:
    invoice_class = resources.Invoice
    own_create = invoice_class.__dict__["_api_create"].__func__

    def create(cls, metadata=None, **kwargs):
        if metadata is not None and not _is_metadata(metadata):
            raise resources.UserError(400, "Invalid metadata: a hash of string keys and values",
                                      contents={"param": "metadata"})
        invoice = own_create(cls, metadata=metadata, **kwargs)
        if metadata:
            invoice.metadata = dict(metadata)
        return invoice

    invoice_class._api_create = classmethod(create)


def _is_metadata(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _add_lines_api(resources):
    return _AddLines(resources).add_lines


class _AddLines:
    """The endpoint on localstripe's resources: every line checked first, then all applied."""

    def __init__(self, resources):
        self._resources = resources
        self._to_int, self._to_bool = resources.try_convert_to_int, resources.try_convert_to_bool

    def _bad(self, param: str, message: str) -> Exception:
        return self._resources.UserError(400, message, contents={"param": param})

    def add_lines(self, id=None, lines=None, invoice_metadata=None, **unknown):
        bad = self._bad
        if unknown:
            name = sorted(unknown)[0]
            raise bad(name, f"Received unknown parameter: {name}")
        invoice = self._resources.Invoice._api_retrieve(id)  # 404 if unknown
        if invoice.status != "draft":
            raise self._resources.UserError(
                400, f"Invoice {id} is {invoice.status}: lines can only be added to a draft invoice",
                contents={"code": "invoice_not_editable", "param": "lines"})
        if not isinstance(lines, list) or not lines:
            raise bad("lines", "Missing required param: lines")
        if len(lines) > MAX_LINES_PER_CALL:
            raise bad("lines", f"At most {MAX_LINES_PER_CALL} lines per call")
        if invoice_metadata is not None and not _is_metadata(invoice_metadata):
            raise bad("invoice_metadata", "Invalid metadata: a hash of string keys and values")
        assigned: set[str] = set()
        checked = [self._checked_line(invoice, position, line, assigned) for position, line in enumerate(lines)]
        # Nothing was changed above; from here on nothing can fail.
        for line in checked:
            self._apply(invoice, line)
        if invoice_metadata:
            invoice.metadata = {**(invoice.metadata or {}), **invoice_metadata}
        return invoice

    def _apply(self, invoice, line: dict[str, Any]) -> None:
        resources = self._resources
        if "assign" in line:
            item = line["assign"]
            item.invoice = invoice.id
        else:
            fields = dict(line["create"])
            discountable = fields.pop("discountable")
            item = resources.InvoiceItem(invoice=invoice.id, customer=invoice.customer,
                                         currency=invoice.currency, **fields)
            item.discountable = discountable
        invoice_line = resources.InvoiceLineItem(item)
        invoice_line.discountable = getattr(item, "discountable", True)
        invoice.lines._list.append(invoice_line)

    def _checked_line(self, invoice, position: int, line: Any, assigned: set[str]) -> dict[str, Any]:
        """The line's item fields (or the pending item to assign), or a 400 naming the param."""
        where = f"lines[{position}]"
        if not isinstance(line, dict):
            raise self._bad(where, "Invalid object")
        for field in line:
            if field in _REFUSED_FIELDS:
                raise self._bad(f"{where}[{field}]", f"{field} is not supported by this localstripe")
            if field != "invoice_item" and field not in _NEW_LINE_FIELDS:
                raise self._bad(f"{where}[{field}]", f"Received unknown parameter: {where}[{field}]")
        if "invoice_item" in line:
            return {"assign": self._pending_item(invoice, where, line, assigned)}
        amount = self._line_amount(invoice, where, line)
        return {"create": {"amount": amount, **self._line_details(where, line, amount)}}

    def _pending_item(self, invoice, where: str, line: dict[str, Any], assigned: set[str]):
        bad = self._bad
        if len(line) > 1:
            others = sorted(set(line) - {"invoice_item"})
            raise bad(f"{where}[{others[0]}]", "An invoice_item line takes no other fields here")
        item_id = line["invoice_item"]
        if not isinstance(item_id, str) or not item_id.startswith("ii_"):
            raise bad(f"{where}[invoice_item]", "Invalid invoice item id")
        item = self._resources.store.get(f"invoiceitem:{item_id}")
        if item is None:
            raise self._resources.UserError(404, f"No such invoiceitem: '{item_id}'",
                                            contents={"param": f"{where}[invoice_item]"})
        if item.invoice is not None or item_id in assigned:
            raise bad(f"{where}[invoice_item]", f"Invoice item {item_id} is already on an invoice")
        if item.customer != invoice.customer:
            raise bad(f"{where}[invoice_item]", f"Invoice item {item_id} belongs to another customer")
        if item.currency != invoice.currency:
            raise bad(f"{where}[invoice_item]", f"Invoice item {item_id} is not in {invoice.currency}")
        assigned.add(item_id)
        return item

    def _line_amount(self, invoice, where: str, line: dict[str, Any]) -> int:
        bad = self._bad
        pricings = [field for field in ("amount", "price_data", "pricing") if field in line]
        if len(pricings) != 1:
            raise bad(where, "Each line needs exactly one of amount, price_data, pricing or invoice_item")
        quantity = self._to_int(line.get("quantity", 1))
        if type(quantity) is not int or quantity < 0:
            raise bad(f"{where}[quantity]", "Invalid non-negative integer")
        if "amount" in line:
            if "quantity" in line:
                raise bad(f"{where}[quantity]", "quantity needs price_data or pricing")
            amount = self._to_int(line["amount"])
            if type(amount) is not int:
                raise bad(f"{where}[amount]", "Invalid integer")
            return amount
        if "price_data" in line:
            return quantity * self._price_data_unit_amount(line["price_data"], f"{where}[price_data]", invoice)
        return quantity * self._pricing_unit_amount(line["pricing"], f"{where}[pricing]", invoice)

    def _line_details(self, where: str, line: dict[str, Any], amount: int) -> dict[str, Any]:
        """description, metadata, period and discountable, checked."""
        bad, to_int = self._bad, self._to_int
        fields: dict[str, Any] = {}
        description = line.get("description")
        if description is not None:
            if not isinstance(description, str) or len(description) > 5000:
                raise bad(f"{where}[description]", "Invalid string: at most 5000 characters")
            fields["description"] = description
        metadata = line.get("metadata")
        if metadata is not None:
            if not _is_metadata(metadata):
                raise bad(f"{where}[metadata]", "Invalid metadata: a hash of string keys and values")
            fields["metadata"] = dict(metadata)
        period = line.get("period")
        if period is not None:
            if not isinstance(period, dict) or set(period) != {"start", "end"}:
                raise bad(f"{where}[period]", "period needs start and end")
            start, end = to_int(period["start"]), to_int(period["end"])
            if type(start) is not int or type(end) is not int or start > end:
                raise bad(f"{where}[period]", "period: integer start and end, start <= end")
            fields["period_start"], fields["period_end"] = start, end
        discountable = self._to_bool(line.get("discountable", amount >= 0))
        if type(discountable) is not bool:
            raise bad(f"{where}[discountable]", "Invalid boolean")
        if discountable and amount < 0:
            # Stripe: "Defaults to false for prorations or negative line items".
            raise bad(f"{where}[discountable]", "A negative line cannot be discountable")
        fields["discountable"] = discountable
        return fields

    def _price_data_unit_amount(self, price_data: Any, where: str, invoice) -> int:
        bad = self._bad
        if not isinstance(price_data, dict):
            raise bad(where, "Invalid object")
        unknown = set(price_data) - {"currency", "product", "unit_amount", "tax_behavior"}
        if unknown:
            raise bad(f"{where}[{sorted(unknown)[0]}]", f"Received unknown parameter: {where}[{sorted(unknown)[0]}]")
        if price_data.get("currency") != invoice.currency:
            raise bad(f"{where}[currency]", f"The invoice is in {invoice.currency}")
        product = price_data.get("product")
        if not isinstance(product, str) or not product:
            raise bad(f"{where}[product]", "Missing required param: product")
        self._resources.Product._api_retrieve(product)  # 404 if unknown, as on Stripe
        unit_amount = self._to_int(price_data.get("unit_amount"))
        if type(unit_amount) is not int or unit_amount < 0:
            raise bad(f"{where}[unit_amount]", "Missing or invalid unit_amount (a non-negative integer)")
        return unit_amount

    def _pricing_unit_amount(self, pricing: Any, where: str, invoice) -> int:
        if not isinstance(pricing, dict) or set(pricing) != {"price"} or not isinstance(pricing["price"], str):
            raise self._bad(where, "pricing takes a price id")
        price = self._resources.Plan._api_retrieve(pricing["price"])  # 404 if unknown
        if price.billing_scheme != "per_unit":
            raise self._bad(f"{where}[price]", "Tiered prices are not supported by this localstripe")
        if price.currency != invoice.currency:
            raise self._bad(f"{where}[price]", f"The invoice is in {invoice.currency}")
        return price.amount
