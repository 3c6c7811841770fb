"""The one place a tenant id becomes a schema name checks the name before SQL text holds
it: every name warehouse.tenancy derives from a valid slug passes, anything else is refused."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warehouse.postgres import tenant_scope
from warehouse.tenancy import schema_for

SLUGS = st.from_regex(r"\A[a-z][a-z0-9]{1,12}(?:-[a-z0-9]{1,8}){0,3}\Z")


@given(SLUGS)
def test_every_derived_schema_name_is_accepted(slug):
    tenant_id = uuid.uuid4()
    assert tenant_scope._remember(tenant_id, schema_for(slug)) == schema_for(slug)
    assert tenant_scope._known.pop(tenant_id) == schema_for(slug)


@pytest.mark.parametrize("name", ['tenant_a"; DROP SCHEMA public; --', "public", "tenant_A", "tenant_", "x" * 70])
def test_other_names_are_refused(name):
    tenant_id = uuid.uuid4()
    with pytest.raises(ValueError):
        tenant_scope._remember(tenant_id, name)
    assert tenant_id not in tenant_scope._known


def test_an_unknown_tenant_is_not_remembered():
    tenant_id = uuid.uuid4()
    assert tenant_scope._remember(tenant_id, None) is None
    assert tenant_id not in tenant_scope._known
