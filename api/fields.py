"""The API's one validation layer for input: every body field, path and query parameter is one
of these types, so a rule holds for all of them at once rather than field by field.

Text (`text(...)` and the named types built on it):
- no control characters (C0, DEL, C1) and no lone surrogates: PostgreSQL refuses NUL
  outright and asyncpg cannot encode a surrogate (both were 500s), and none of them belongs
  in a name, a slug or an id (they forge log lines and break headers);
- a bounded length, always;
- patterns checked by Python's `re` are anchored with `\\Z` (`$` also matches before a final
  newline, which let the slug "ab\\n" through). `StringConstraints(pattern=...)` runs in
  pydantic-core's Rust engine, where `$` is the end of the text.
The JSON schema of each carries the same rule as a `pattern`, so clients (and schemathesis)
see what is refused.

Numbers and instants are bounded by what the stores hold: a row id fits PostgreSQL's
bigint, an instant lies between 1970 and 2100 (ClickHouse's DateTime range, and far from
Python's datetime limits, which `to - 24 h` would cross).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from warehouse.tenancy import InvalidTenantSlug, validate_slug

__all__ = ["text", "Text", "Name", "Email", "TenantSlug", "ResourceSlug", "EventType", "DataPath", "InvoiceNumber",
           "RowId", "Instant", "CONTROL_CHARACTERS", "EARLIEST_INSTANT", "LATEST_INSTANT", "MAX_ROW_ID"]

# C0 controls, DEL, C1 controls and the surrogate range (only lone surrogates reach a str).
CONTROL_CHARACTERS = "\x00-\x1f\x7f-\x9f\ud800-\udfff"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
# The same class as a JSON-schema (ECMA-262) pattern, with \u escapes.
_JSON_CLASS = r"\u0000-\u001f\u007f-\u009f\ud800-\udfff"
_PRINTABLE_PATTERN = rf"^[^{_JSON_CLASS}]*$"

MAX_ROW_ID = 2**63 - 1  # PostgreSQL bigint
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=timezone.utc)


def _printable(value: str) -> str:
    found = _CONTROL.search(value)
    if found:
        raise ValueError(f"must not contain control characters (found U+{ord(found.group()):04X})")
    return value


def text(max_length: int, *, min_length: int = 1, strip: bool = False, json_pattern: str | None = None,
         check: Any = None) -> Any:
    """A bounded string without control characters; `check` (a function) adds a rule of its own,
    `json_pattern` documents that rule (ECMA-262, and itself free of control characters)."""
    validators = [AfterValidator(_printable)] + ([AfterValidator(check)] if check else [])
    return Annotated[str, StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length),
                     *validators, Field(json_schema_extra={"pattern": json_pattern or _PRINTABLE_PATTERN})]


# Deliberately loose (no email-validator dependency): one "@", a dot in the domain,
# no spaces. Deliverability is not our business; uniqueness is, so it is lowercased.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_EMAIL_JSON = rf"^[^@\s{_JSON_CLASS}]+@[^@\s{_JSON_CLASS}]+\.[^@\s{_JSON_CLASS}]+$"


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an email address")
    return value.lower()


def _tenant_slug(value: str) -> str:
    try:
        return validate_slug(value)
    except InvalidTenantSlug as exc:
        raise ValueError(str(exc)) from exc


# A dotted path into the event's `data` object, as stream.aggregation.extract_value reads it.
_DATA_PATH = re.compile(r"[^.\s]+(\.[^.\s]+)*\Z")


def _data_path(value: str) -> str:
    if not _DATA_PATH.match(value):
        raise ValueError("must be a dotted path such as 'usage.tokens'")
    return value


_RESOURCE_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")


def _resource_slug(value: str) -> str:
    if not _RESOURCE_SLUG.match(value):
        raise ValueError("must be lowercase letters, digits, '_' and '-', starting with a letter or digit")
    return value


Text = text(1024)
Name = text(200, strip=True)
Email = text(254, min_length=3, strip=True, check=_email, json_pattern=_EMAIL_JSON)
TenantSlug = text(40, min_length=2, check=_tenant_slug, json_pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# Meter and plan slugs: the same shape billing_jobs.plans.Slug accepts, so charges can name meters.
ResourceSlug = text(64, json_pattern=r"^[a-z0-9][a-z0-9_-]*$", check=_resource_slug)
EventType = text(256, strip=True)
DataPath = text(256, check=_data_path, json_pattern=rf"^[^.\s{_JSON_CLASS}]+(\.[^.\s{_JSON_CLASS}]+)*$")
InvoiceNumber = text(64)
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]

def _within_stores(value: datetime) -> datetime:
    if not EARLIEST_INSTANT <= value < LATEST_INSTANT:
        raise ValueError(f"must lie between {EARLIEST_INSTANT.year} and {LATEST_INSTANT.year}")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_within_stores)]
