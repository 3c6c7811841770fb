"""The one place a tenant becomes a PostgreSQL schema name.

Schema names are interpolated into DDL, so they are derived only from a validated
slug: lowercase letters, digits and single hyphens. Slugs cannot contain "_", so
"acme-eu" -> "tenant_acme_eu" can never collide with another slug.
"""

from __future__ import annotations

import re

__all__ = ["InvalidTenantSlug", "validate_slug", "schema_for", "TENANT_SCHEMA_PLACEHOLDER"]

# Matched with fullmatch: `$` also matches before a final newline, and "ab\n" would have
# become a schema name with a newline in it.
_SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_MAX_SLUG = 40

# Tenant tables are declared in this schema; queries translate it to the real one.
TENANT_SCHEMA_PLACEHOLDER = "tenant"


class InvalidTenantSlug(ValueError):
    pass


def validate_slug(slug: str) -> str:
    if not isinstance(slug, str) or len(slug) > _MAX_SLUG or not _SLUG.fullmatch(slug):
        raise InvalidTenantSlug(
            f"tenant slug must be 2-{_MAX_SLUG} lowercase letters, digits and single hyphens, starting with a letter"
        )
    if len(slug) < 2:
        raise InvalidTenantSlug("tenant slug must have at least 2 characters")
    return slug


def schema_for(slug: str) -> str:
    return "tenant_" + validate_slug(slug).replace("-", "_")
