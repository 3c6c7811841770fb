"""How outbound webhooks are signed, and how a receiver checks them. Pure.

Header ``Meterline-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256, keyed with the tenant's webhook secret, over ``"<t>." + body``
(the exact bytes sent). Signing the timestamp with the body lets a receiver
refuse a replayed old delivery (`tolerance_s`), as Stripe's scheme does.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "EVENT_ID_HEADER", "sign", "signature_header", "verify", "signed_in_future"]

SIGNATURE_HEADER = "Meterline-Signature"
EVENT_ID_HEADER = "Meterline-Event-Id"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def _timestamp(header: str) -> int | None:
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        return int(parts["t"])
    except (KeyError, ValueError):
        return None


def signed_in_future(header: str, now: int, tolerance_s: int) -> bool:
    """True if the `t=` of a `t=...,v1=...` header (ours or Stripe's: the same scheme) lies
    more than `tolerance_s` ahead of `now`. Stripe's SDK refuses only stale timestamps; a
    future one would let a captured signature be replayed until long after it was made."""
    timestamp = _timestamp(header)
    return timestamp is not None and timestamp - now > tolerance_s


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """True if `header` signs `body` with `secret` and its timestamp is within `tolerance_s` of `now`."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp = _timestamp(header)
    if timestamp is None:
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), parts.get("v1", ""))
