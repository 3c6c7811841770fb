"""Values on the wire between the embedded-ClickHouse host and its clients.

JSON, with every value that JSON would flatten (datetimes, dates, Decimals, UUIDs,
bytes, tuples, maps, IP addresses, non-finite floats, 128-bit integers) tagged so that
the client gets back exactly the Python values the chDB client produced, and the host
inserts exactly what the caller passed. Lists, str, int, float, bool and None travel as
themselves. Every dict on the wire is a tag, so a Map column is a tag too.
"""

from __future__ import annotations

import base64
import math
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["encode", "decode"]

_INT64 = range(-(2**63), 2**63)


def _zone(tz) -> str | None:
    # zoneinfo keeps the zone's name (so DST rules survive); pytz calls it `zone`.
    return getattr(tz, "key", None) or getattr(tz, "zone", None)


def encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if value in _INT64 else {"$": "int", "v": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, datetime):
        tagged = {"$": "datetime", "v": value.isoformat()}
        if value.tzinfo is not None and _zone(value.tzinfo):
            tagged["tz"] = _zone(value.tzinfo)
        return tagged
    if isinstance(value, date):
        return {"$": "date", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$": "decimal", "v": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$": "uuid", "v": str(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"$": "bytes", "v": base64.b64encode(value).decode()}
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$": "map", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, IPv4Address):
        return {"$": "ipv4", "v": str(value)}
    if isinstance(value, IPv6Address):
        return {"$": "ipv6", "v": str(value)}
    if isinstance(value, timedelta):
        return {"$": "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, (set, frozenset)):
        return [encode(v) for v in value]
    raise TypeError(f"no wire form for {type(value).__name__}")


def _datetime(tagged: dict) -> datetime:
    value = datetime.fromisoformat(tagged["v"])
    # The ISO text keeps the offset; the zone's name is restored on top of it.
    return value.astimezone(ZoneInfo(tagged["tz"])) if "tz" in tagged else value


_DECODERS = {
    "int": lambda t: int(t["v"]),
    "float": lambda t: float(t["v"]),
    "datetime": _datetime,
    "date": lambda t: date.fromisoformat(t["v"]),
    "decimal": lambda t: Decimal(t["v"]),
    "uuid": lambda t: uuid.UUID(t["v"]),
    "bytes": lambda t: base64.b64decode(t["v"]),
    "tuple": lambda t: tuple(decode(v) for v in t["v"]),
    "map": lambda t: {decode(k): decode(v) for k, v in t["v"]},
    "ipv4": lambda t: IPv4Address(t["v"]),
    "ipv6": lambda t: IPv6Address(t["v"]),
    "timedelta": lambda t: timedelta(*t["v"]),
}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        return _DECODERS[value["$"]](value)
    return value
