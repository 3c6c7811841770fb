"""The operators' role table: the docs publish exactly the code's table, and operator tokens
and tenant tokens are refused by each other's decoders (pure: no services)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.auth import InvalidToken, Principal, decode_access_token, issue_access_token
from api.operator_roles import OPERATOR_ROLES, PERMISSIONS, ROLE_PERMISSIONS, allowed
from api.operator_tokens import OperatorPrincipal, decode_operator_token, issue_operator_token
from meterline.settings import JwtSettings

DOCS = Path(__file__).resolve().parents[3] / "docs" / "operators.md"
JWT = JwtSettings(secret=SecretStr("s" * 48))
NOW = datetime.now(timezone.utc)


def _documented() -> dict[str, dict[str, bool]]:
    text = DOCS.read_text()
    table = text[text.index("<!-- role-table:start -->"):text.index("<!-- role-table:end -->")]
    rows = {}
    for line in table.splitlines()[3:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        permission = re.fullmatch(r"`([a-z.]+)`", cells[0]).group(1)
        rows[permission] = {role: cells[2 + i] == "yes" for i, role in enumerate(OPERATOR_ROLES)}
    return rows


def test_the_docs_publish_the_role_table_of_the_code():
    documented = _documented()
    assert set(documented) == set(PERMISSIONS)
    for permission, by_role in documented.items():
        for role, yes in by_role.items():
            assert allowed(role, permission) is yes, (role, permission)


def test_every_permission_is_held_by_some_role_and_unknown_roles_hold_none():
    assert set().union(*ROLE_PERMISSIONS.values()) == set(PERMISSIONS)
    assert not any(allowed(role, p) for role in ("owner", "admin", "", "FINANCE") for p in PERMISSIONS)


def test_an_operator_token_round_trips():
    principal = OperatorPrincipal(uuid.uuid4(), "sre")
    assert decode_operator_token(JWT, issue_operator_token(JWT, principal, NOW).token) == principal


def test_a_tenant_token_is_not_an_operator_token():
    token = issue_access_token(JWT, Principal(uuid.uuid4(), uuid.uuid4(), "owner"), NOW).token
    with pytest.raises(InvalidToken):
        decode_operator_token(JWT, token)


def test_an_operator_token_is_not_a_tenant_token():
    token = issue_operator_token(JWT, OperatorPrincipal(uuid.uuid4(), "finance"), NOW).token
    with pytest.raises(InvalidToken):
        decode_access_token(JWT, token)


@pytest.mark.parametrize("secret", ["o" * 48], ids=["other-secret"])
def test_an_operator_token_of_another_secret_or_expired_is_refused(secret):
    other = issue_operator_token(JwtSettings(secret=SecretStr(secret)), OperatorPrincipal(uuid.uuid4(), "sre"), NOW)
    with pytest.raises(InvalidToken):
        decode_operator_token(JWT, other.token)
    expired = issue_operator_token(JWT, OperatorPrincipal(uuid.uuid4(), "sre"), NOW - timedelta(hours=1))
    with pytest.raises(InvalidToken, match="expired"):
        decode_operator_token(JWT, expired.token)
