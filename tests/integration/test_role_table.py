"""The role table (api/permissions.py) against the app as built: every route of the admin app,
for every role, answers as the table says - refused (403) exactly where the role lacks the
route's permission - and every route is in the table.

Requests carry no body and made-up ids: an allowed route answers whatever its input earns
(200, 404, 422...), never 401 or 403; a refused one answers 403 before reading any input.
"""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.routing import iter_route_contexts

from api.auth import ROLES
from api.permissions import ROUTES, Access, Permission, can
from tests.support.admin_api import bearer, register
from tests.support.tenants import signed_in_user

pytestmark = pytest.mark.integration

# Logging out ends the caller's session: walked last, so it ends nothing the walk still needs.
_LAST = ("POST", "/v1/auth/logout")


def app_routes(app) -> list[tuple[str, str]]:
    found = {(method, route.path) for route in iter_route_contexts(app.routes) for method in (route.methods or ())}
    return sorted(found, key=lambda r: (r == _LAST, r))


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: uuid.uuid4().hex[:12], path)


def test_every_route_is_in_the_table_and_only_those(admin_api):
    routes = set(app_routes(admin_api.app))
    assert routes - set(ROUTES) == set(), "routes missing from api/permissions.py ROUTES"
    assert set(ROUTES) - routes == set(), "ROUTES names routes the app does not have"


@pytest.mark.parametrize("role", ROLES)
async def test_every_route_answers_each_role_as_the_table_says(admin_api, stack, role):
    owner = await register(admin_api)
    token = owner["access_token"]["access_token"] if role == "owner" else \
        await signed_in_user(stack, uuid.UUID(owner["tenant"]["id"]), role)
    mismatches = []
    for method, path in app_routes(admin_api.app):
        access = ROUTES[(method, path)]
        answer = await admin_api.request(method, concrete(path), headers=bearer(token))
        refused = answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
        if isinstance(access, Permission):
            wrong = refused != (not can(role, access)) or answer.status_code == 401
        elif access is Access.OPERATOR:
            # A tenant's token is no operator's credential, whatever the role (401; 403 where
            # only the bootstrap token is taken).
            wrong = answer.status_code not in (401, 403)
        else:  # public routes ignore the token
            wrong = refused
        if wrong:
            mismatches.append((method, path, answer.status_code, answer.text[:120]))
    assert mismatches == [], f"{role}: answers differing from the table"
