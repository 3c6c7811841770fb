"""api.fields, the one validation layer for text, ids and instants: pure, no I/O."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from api.fields import Email, Instant, InvoiceNumber, Name, ResourceSlug, RowId, TenantSlug
from warehouse.tenancy import InvalidTenantSlug, validate_slug


@pytest.mark.parametrize("kind", [Name, Email, TenantSlug, ResourceSlug, InvoiceNumber])
@pytest.mark.parametrize("bad", ["ab\x00cd", "a\nb", "a\x1bb", "a\x7fb", "a\x85b", "a\ud800b", "a\tb"])
def test_every_text_type_refuses_control_characters_and_lone_surrogates(kind, bad: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(kind).validate_python(bad)


@pytest.mark.parametrize(("kind", "good"), [(Name, "Acme Ünïcode 株式会社"), (Email, "Owner@Acme.example"),
                                            (TenantSlug, "acme-eu"), (ResourceSlug, "api_calls-2"),
                                            (InvoiceNumber, "ACME-2026-03-0001")])
def test_ordinary_text_passes(kind, good: str) -> None:
    assert TypeAdapter(kind).validate_python(good) in (good, good.lower())


def test_the_slug_anchor_does_not_let_a_final_newline_through() -> None:
    with pytest.raises(InvalidTenantSlug):
        validate_slug("ab\n")
    for kind in (TenantSlug, ResourceSlug, InvoiceNumber):
        with pytest.raises(ValidationError):
            TypeAdapter(kind).validate_python("ab\n")


def test_names_are_trimmed_before_the_rule_applies() -> None:
    assert TypeAdapter(Name).validate_python("  Acme\n") == "Acme"


@pytest.mark.parametrize("value", [0, -1, 2**63])
def test_row_ids_fit_bigint(value: int) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(RowId).validate_python(value)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "1969-12-31T23:59:59Z"])
def test_instants_lie_where_the_stores_can_hold_them(value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Instant).validate_python(value)


def test_an_instant_in_range_passes() -> None:
    assert TypeAdapter(Instant).validate_python("2026-03-01T00:00:00Z") == datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_the_json_schema_shows_the_text_rule() -> None:
    schema = TypeAdapter(Name).json_schema()

    assert schema["maxLength"] == 200 and schema["pattern"].startswith("^[^\\u0000-\\u001f")
