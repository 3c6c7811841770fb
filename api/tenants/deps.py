"""The payment provider a registration creates the tenant's customer with (`CustomerRegistryDep`),
built once by the composition root (api/wiring.py) and overridable in tests."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from ..deps import WiringDep
from .service import CustomerRegistry

__all__ = ["CustomerRegistryDep", "get_customer_registry"]


def get_customer_registry(wiring: WiringDep) -> CustomerRegistry:
    return wiring.customer_registry


CustomerRegistryDep = Annotated[CustomerRegistry, Depends(get_customer_registry)]
