"""The host's wire format (warehouse/clickhouse/wire.py): pure, every value back as it went."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from zoneinfo import ZoneInfo

import orjson
import pytest

from warehouse.clickhouse.wire import decode, decode_rows, encode, encode_rows

PARIS = ZoneInfo("Europe/Paris")
VALUES = {
    "naive datetime": datetime(2026, 11, 25, 12, 0, 0, 123456),
    "utc datetime": datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc),
    "zoned datetime": datetime(2026, 10, 25, 2, 30, tzinfo=PARIS),
    "date": date(2026, 2, 28),
    "decimal": Decimal("-12345678901234567890.123456789"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "bytes": b"\x00\xffab",
    "array": ["a", None, "b"],
    "nested": [[1, 2], []],
    "map": {"k": 1, "l": None},
    "tuple": ("x", Decimal("1.5")),
    "uint64 max": 2**64 - 1,
    "int128": -(2**100),
    "inf": float("inf"),
    "ipv4": IPv4Address("10.0.0.1"),
    "ipv6": IPv6Address("::1"),
    "interval": timedelta(days=1, seconds=5),
    "none": None,
    "bool": True,
    "text": "é'\\",
}


@pytest.mark.parametrize("value", list(VALUES.values()), ids=list(VALUES))
def test_a_value_round_trips(value):
    back = decode(orjson.loads(orjson.dumps(encode(value))))
    assert back == value and type(back) is type(value)
    if isinstance(value, datetime):
        assert back.utcoffset() == value.utcoffset() and str(back.tzinfo) == str(value.tzinfo)


COLUMNS = {
    "datetimes with NULL": [datetime(2026, 1, 1, tzinfo=PARIS), None, datetime(2026, 7, 1, tzinfo=PARIS)],
    "naive datetimes": [datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 0, 0, 1)],
    "mixed zones": [datetime(2026, 1, 1, tzinfo=PARIS), datetime(2026, 1, 1, tzinfo=timezone.utc)],
    "uuids": [uuid.uuid4(), None],
    "decimals": [Decimal("0.000000001"), Decimal("1E+3"), None],
    "dates": [date(1970, 1, 1), None],
    "ints beyond int64": [1, 2**63],
    "floats with nan": [0.1, float("-inf")],
    "mixed types": [1, "a", None],
    "strings": ["a", None, ""],
}


@pytest.mark.parametrize("values", list(COLUMNS.values()), ids=list(COLUMNS))
def test_a_column_round_trips(values):
    rows = [(i, v) for i, v in enumerate(values)]
    back = decode_rows(orjson.loads(orjson.dumps(encode_rows(rows))))
    assert back == rows
    assert [type(v) for _, v in back] == [type(v) for v in values]
    assert [getattr(v, "tzinfo", None) and v.utcoffset() for _, v in back] == \
           [getattr(v, "tzinfo", None) and v.utcoffset() for v in values]


def test_no_rows():
    assert decode_rows(orjson.loads(orjson.dumps(encode_rows([])))) == []
