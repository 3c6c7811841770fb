"""docs/roles.md is the role table of api/permissions.py, rendered; and the table is whole."""

from pathlib import Path

import pytest

from api.auth import ROLES
from api.permissions import MEANING, MINIMUM_ROLE, ROUTES, Access, Permission, can, render_markdown

DOCS = Path(__file__).resolve().parents[3] / "docs" / "roles.md"


def test_docs_roles_md_is_the_rendered_table():
    assert DOCS.read_text() == render_markdown(), "run: python -m api.permissions > docs/roles.md"


def test_every_permission_has_a_minimum_role_and_a_meaning():
    assert set(MINIMUM_ROLE) == set(Permission) == set(MEANING)


@pytest.mark.parametrize(("role", "permission", "allowed"), [
    ("viewer", Permission.READ, True),
    ("viewer", Permission.USAGE_EXPORT, False),
    ("member", Permission.USAGE_EXPORT, True),
    ("member", Permission.OWN_API_KEYS, True),
    ("member", Permission.METERS, False),
    ("manager", Permission.METERS, True),
    ("manager", Permission.ALERT_TARGETS, True),
    ("manager", Permission.USERS, False),
    ("admin", Permission.USERS, True),
    ("admin", Permission.ALL_API_KEYS, True),
    ("admin", Permission.SUBSCRIPTION, True),
    ("admin", Permission.TRANSFER_OWNERSHIP, False),
    ("owner", Permission.TRANSFER_OWNERSHIP, True),
    ("owner", Permission.DELETE_TENANT, True),
    ("stranger", Permission.READ, False),
], ids=lambda v: str(v))
def test_the_seeds_meanings(role, permission, allowed):
    assert can(role, permission) is allowed


def test_a_higher_role_has_every_permission_of_a_lower_one():
    for higher, lower in zip(ROLES, ROLES[1:]):
        assert {p for p in Permission if can(lower, p)} <= {p for p in Permission if can(higher, p)}


def test_routes_name_a_permission_or_an_access_kind():
    assert all(isinstance(access, (Permission, Access)) for access in ROUTES.values())
    assert all(method in {"GET", "HEAD", "POST", "PUT", "DELETE"} for method, _ in ROUTES)
