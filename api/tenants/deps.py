"""The payment provider a registration creates the tenant's customer with (`CustomerRegistryDep`),
built from the settings by the composition root and overridable in tests."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from meterline.bootstrap import stripe_gateway

from ..deps import SettingsDep
from .service import CustomerRegistry

__all__ = ["CustomerRegistryDep", "get_customer_registry"]


def get_customer_registry(settings: SettingsDep) -> CustomerRegistry:
    return stripe_gateway(settings)


CustomerRegistryDep = Annotated[CustomerRegistry, Depends(get_customer_registry)]
