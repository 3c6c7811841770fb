"""Field types shared by several areas' schemas."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from warehouse.tenancy import InvalidTenantSlug, validate_slug

__all__ = ["Email", "TenantSlug", "ResourceSlug", "Name"]

# Deliberately loose (no email-validator dependency): one "@", a dot in the domain,
# no spaces. Deliverability is not our business; uniqueness is, so it is lowercased.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an email address")
    return value.lower()


def _tenant_slug(value: str) -> str:
    try:
        return validate_slug(value)
    except InvalidTenantSlug as exc:
        raise ValueError(str(exc)) from exc


Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254), AfterValidator(_email)]
TenantSlug = Annotated[str, AfterValidator(_tenant_slug)]
# Meter and plan slugs: the same shape billing_jobs.plans.Slug accepts, so charges can name meters.
ResourceSlug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
