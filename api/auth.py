"""Passwords, access tokens and roles. No I/O: callers pass settings and records.

Access tokens are HS256 JWTs (settings.jwt) carrying the user id (`sub`), the
tenant id, the role at issue and the session (`sid`, a refresh-token family). The
tenant a request acts on is ALWAYS the token's `tenant_id`: no route takes a tenant
from the path, query or body. The role a request acts with is the user's stored one
(api/deps.py reads it every request); the token's is only what it was at issue.

Refresh tokens and invitation tokens are opaque 256-bit random strings, stored only
as a SHA-256 (a fast hash suffices: nothing guessable to attack by dictionary).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

import jwt
from pwdlib import PasswordHash

from meterline.settings import JwtSettings

__all__ = ["ROLES", "Role", "Principal", "AccessToken", "InvalidToken", "role_at_least",
           "hash_password", "verify_password", "issue_access_token", "decode_access_token", "utcnow",
           "new_opaque_token", "hash_opaque_token"]

Role = Literal["owner", "admin", "manager", "member", "viewer"]
# Highest first; a role may do everything the roles below it may.
ROLES: tuple[Role, ...] = ("owner", "admin", "manager", "member", "viewer")
_RANK = {role: len(ROLES) - index for index, role in enumerate(ROLES)}

_hasher = PasswordHash.recommended()  # argon2id
# Verified against when the email is unknown, so a miss costs as much as a wrong password
# and response times do not reveal which emails have accounts.
_DUMMY_HASH = _hasher.hash("meterline-timing-equaliser")


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified access token."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    role: Role
    session_id: uuid.UUID | None = None


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime
    expires_in: int  # seconds


def role_at_least(role: str, minimum: Role) -> bool:
    return _RANK.get(role, 0) >= _RANK[minimum]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-ish time whether or not a hash exists (see _DUMMY_HASH)."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # noqa: BLE001 - a malformed stored hash is a failed login, not a 500
        return False


def issue_access_token(config: JwtSettings, principal: Principal, now: datetime) -> AccessToken:
    lifetime = timedelta(minutes=config.access_token_minutes)
    expires_at = now + lifetime
    claims = {
        "sub": str(principal.user_id),
        "tenant_id": str(principal.tenant_id),
        "role": principal.role,
        **({"sid": str(principal.session_id)} if principal.session_id else {}),
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    token = jwt.encode(claims, config.secret.get_secret_value(), algorithm=config.algorithm)
    return AccessToken(token, expires_at, int(lifetime.total_seconds()))


def decode_access_token(config: JwtSettings, token: str) -> Principal:
    try:
        claims = jwt.decode(token, config.secret.get_secret_value(), algorithms=[config.algorithm],
                            options={"require": ["sub", "tenant_id", "role", "sid", "exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("access token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("invalid access token") from exc
    role = claims["role"]
    if role not in _RANK:
        raise InvalidToken("invalid access token")
    try:
        return Principal(uuid.UUID(claims["sub"]), uuid.UUID(claims["tenant_id"]), role, uuid.UUID(claims["sid"]))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidToken("invalid access token") from exc


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_opaque_token(prefix: str) -> tuple[str, str]:
    """A fresh token and the hash to store for it."""
    plaintext = prefix + secrets.token_urlsafe(32)
    return plaintext, hash_opaque_token(plaintext)


def hash_opaque_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()
