"""How outbound webhooks are signed, and how a receiver checks them. Pure.

Header ``Meterline-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256, keyed with the tenant's webhook secret, over ``"<t>." + body``
(the exact bytes sent). Signing the timestamp with the body lets a receiver
refuse a replayed old delivery (`tolerance_s`), as Stripe's scheme does.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "EVENT_ID_HEADER", "sign", "signature_header", "verify"]

SIGNATURE_HEADER = "Meterline-Signature"
EVENT_ID_HEADER = "Meterline-Event-Id"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """True if `header` signs `body` with `secret` and its timestamp is within `tolerance_s` of `now`."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), parts.get("v1", ""))
