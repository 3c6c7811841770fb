"""Stripe customers: one per tenant, created at most once.

Customers are listed by email and matched on metadata `meterline_tenant_id`
(skipped when the caller's own record proves no creation started before).
"""

from __future__ import annotations

from typing import Any

from .client import _NotFound
from .lines import TENANT_KEY, _metadata

__all__ = ["CustomerCalls"]


class CustomerCalls:
    """StripeAdapter's customer half, on real Stripe (a mixin over StripeApi; localstripe.py overrides its hook)."""

    def ensure_customer(
        self, tenant_id: str, name: str, email: str, existing_customer_id: str | None, *, recover: bool = True,
    ) -> str:
        customer: dict[str, Any] | None = None
        if existing_customer_id:
            try:
                customer = self._call(self._v1.customers.retrieve, existing_customer_id)
            except _NotFound:
                customer = None
            if customer is not None and customer.get("deleted"):
                customer = None
        if customer is None and recover:
            customer = self._find_customer(tenant_id, email)
        if customer is None:
            customer = self._call(
                self._v1.customers.create,
                key=f"meterline-customer-{tenant_id}",
                name=name,
                email=email,
                metadata={TENANT_KEY: tenant_id},
            )
        self._customer_ready(customer)
        return customer["id"]

    def delete_customer(self, customer_id: str) -> None:
        """Stripe keeps the customer's invoices; a customer already deleted (404) is done."""
        try:
            self._call(self._v1.customers.delete, customer_id)
        except _NotFound:
            return

    def _customer_ready(self, customer: dict[str, Any]) -> None:
        """Real Stripe: nothing. The customer's payment method is collected by Stripe's
        hosted flows, never by us."""

    def _find_customer(self, tenant_id: str, email: str) -> dict[str, Any] | None:
        # Listing is strongly consistent; customer search is not (and
        # localstripe lacks it). Email narrows the list; metadata decides.
        for customer in self._list(self._v1.customers.list, email=email):
            if _metadata(customer).get(TENANT_KEY) == tenant_id:
                return customer
        return None

