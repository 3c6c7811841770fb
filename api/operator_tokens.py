"""Operator access tokens: JWTs that no tenant route accepts, and that accept no tenant token.

They carry `kind: "operator"` and the audience `meterline-operator`, and no `tenant_id`.
Both directions are refused by the JWT library itself, not by a check a route could forget:
api.auth.decode_access_token passes no audience, so PyJWT rejects any token that has one
(and it requires `tenant_id`); decode_operator_token requires the audience, so a tenant
token (which has none) is rejected. The `kind` claim is checked as well, for readers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from meterline.settings import JwtSettings

from .auth import AccessToken, InvalidToken
from .operator_roles import OPERATOR_ROLES, OperatorRole

__all__ = ["OPERATOR_AUDIENCE", "OperatorPrincipal", "issue_operator_token", "decode_operator_token"]

OPERATOR_AUDIENCE = "meterline-operator"


@dataclass(frozen=True)
class OperatorPrincipal:
    operator_id: uuid.UUID
    role: OperatorRole


def issue_operator_token(config: JwtSettings, principal: OperatorPrincipal, now: datetime) -> AccessToken:
    lifetime = timedelta(minutes=config.access_token_minutes)
    expires_at = now + lifetime
    claims = {"sub": str(principal.operator_id), "role": principal.role, "kind": "operator",
              "aud": OPERATOR_AUDIENCE, "iat": int(now.timestamp()), "exp": int(expires_at.timestamp())}
    token = jwt.encode(claims, config.secret.get_secret_value(), algorithm=config.algorithm)
    return AccessToken(token, expires_at, int(lifetime.total_seconds()))


def decode_operator_token(config: JwtSettings, token: str) -> OperatorPrincipal:
    try:
        claims = jwt.decode(token, config.secret.get_secret_value(), algorithms=[config.algorithm],
                            audience=OPERATOR_AUDIENCE, options={"require": ["sub", "role", "kind", "aud", "exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("operator access token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("not an operator access token") from exc
    if claims["kind"] != "operator" or claims["role"] not in OPERATOR_ROLES:
        raise InvalidToken("not an operator access token")
    try:
        return OperatorPrincipal(uuid.UUID(claims["sub"]), claims["role"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidToken("not an operator access token") from exc
