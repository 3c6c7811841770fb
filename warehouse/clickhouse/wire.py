"""Values on the wire between the embedded-ClickHouse host and its clients.

Rows (query results, inserts) travel as columns: a column whose values share one
simple type is tagged once and left to orjson's C encoder (datetimes, dates, UUIDs) or
sent as is (str, int, float, bool), so a 2,000-event batch costs a few milliseconds;
other columns (arrays, maps, tuples, mixed) are tagged value by value.

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

__all__ = ["encode", "decode", "encode_rows", "decode_rows"]

_INT64 = range(-(2**63), 2**63)


def _zone(tz) -> str | None:
    # zoneinfo keeps the zone's name (so DST rules survive); pytz calls it `zone`.
    return getattr(tz, "key", None) or getattr(tz, "zone", None)


def _int(value: int) -> Any:
    return value if value in _INT64 else {"$": "int", "v": str(value)}


def _float(value: float) -> Any:
    return value if math.isfinite(value) else {"$": "float", "v": repr(value)}


def _datetime_tag(value: datetime) -> dict:
    tagged = {"$": "datetime", "v": value.isoformat()}
    if value.tzinfo is not None and _zone(value.tzinfo):
        tagged["tz"] = _zone(value.tzinfo)
    return tagged


def _identity(value: Any) -> Any:
    return value


# Exact type -> encoder: a dict lookup per value, not a chain of isinstance checks (a
# batch insert is tens of thousands of values). Subclasses fall back to `_by_isinstance`.
_ENCODERS = {
    str: _identity, bool: _identity, type(None): _identity, int: _int, float: _float,
    list: lambda v: [encode(x) for x in v],
    datetime: _datetime_tag,
    date: lambda v: {"$": "date", "v": v.isoformat()},
    Decimal: lambda v: {"$": "decimal", "v": str(v)},
    uuid.UUID: lambda v: {"$": "uuid", "v": str(v)},
    bytes: lambda v: {"$": "bytes", "v": base64.b64encode(v).decode()},
    bytearray: lambda v: {"$": "bytes", "v": base64.b64encode(v).decode()},
    tuple: lambda v: {"$": "tuple", "v": [encode(x) for x in v]},
    dict: lambda v: {"$": "map", "v": [[encode(k), encode(x)] for k, x in v.items()]},
    IPv4Address: lambda v: {"$": "ipv4", "v": str(v)},
    IPv6Address: lambda v: {"$": "ipv6", "v": str(v)},
    timedelta: lambda v: {"$": "timedelta", "v": [v.days, v.seconds, v.microseconds]},
    set: lambda v: [encode(x) for x in v],
    frozenset: lambda v: [encode(x) for x in v],
}


def _by_isinstance(value: Any) -> Any:
    # Order matters: bool is an int, datetime is a date.
    for kind in (bool, int, float, str, datetime, date, Decimal, uuid.UUID, bytes, bytearray, tuple, list, dict,
                 IPv4Address, IPv6Address, timedelta, set, frozenset):
        if isinstance(value, kind):
            return _ENCODERS[kind](value)
    raise TypeError(f"no wire form for {type(value).__name__}")


def encode(value: Any) -> Any:
    encoder = _ENCODERS.get(type(value))
    return encoder(value) if encoder is not None else _by_isinstance(value)


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


# --- rows, by column -------------------------------------------------------------------

def _plain(kind: type, values: list) -> bool:
    if kind in (str, bool):
        return True
    if kind is int:
        return all(v in _INT64 for v in values if v is not None)
    if kind is float:
        return all(math.isfinite(v) for v in values if v is not None)
    return False


def _encode_column(values: list) -> dict:
    kinds = {type(v) for v in values if v is not None}
    if len(kinds) == 1:
        kind = next(iter(kinds))
        if _plain(kind, values):
            return {"$": "plain", "v": values}
        if kind is datetime:
            zones = {v.tzinfo for v in values if v is not None}
            if len(zones) == 1:
                (tz,) = zones
                # orjson writes ISO text with the offset; the zone name restores DST rules.
                return {"$": "datetimes", "tz": _zone(tz) if tz is not None else None, "v": values}
        if kind is date:
            return {"$": "dates", "v": values}
        if kind is uuid.UUID:
            return {"$": "uuids", "v": values}
        if kind is Decimal:
            return {"$": "decimals", "v": [None if v is None else str(v) for v in values]}
    return {"$": "values", "v": [encode(v) for v in values]}


def _decode_datetimes(column: dict) -> list:
    zone = ZoneInfo(column["tz"]) if column.get("tz") else None
    parse = datetime.fromisoformat
    if zone is None:
        return [None if v is None else parse(v) for v in column["v"]]
    return [None if v is None else parse(v).astimezone(zone) for v in column["v"]]


_COLUMN_DECODERS = {
    "plain": lambda c: c["v"],
    "datetimes": _decode_datetimes,
    "dates": lambda c: [None if v is None else date.fromisoformat(v) for v in c["v"]],
    "uuids": lambda c: [None if v is None else uuid.UUID(v) for v in c["v"]],
    "decimals": lambda c: [None if v is None else Decimal(v) for v in c["v"]],
    "values": lambda c: [decode(v) for v in c["v"]],
}


def encode_rows(rows) -> dict:
    """Rows (sequences of equal length) -> a JSON-ready object; serialize with orjson."""
    rows = [row if isinstance(row, (list, tuple)) else list(row) for row in rows]
    width = len(rows[0]) if rows else 0
    return {"n": len(rows), "columns": [_encode_column([row[i] for row in rows]) for i in range(width)]}


def decode_rows(body: dict) -> list[tuple]:
    if not body["n"]:
        return []
    return list(zip(*(_COLUMN_DECODERS[c["$"]](c) for c in body["columns"])))
