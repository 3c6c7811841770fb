"""Cursor pagination over rows with one total order (pure).

The cursor is the last row's sort key, JSON in URL-safe base64: the next page is the
rows after it, so a page never repeats or skips a row of the same answer, and rows that
appear meanwhile (usage arriving) land where their key puts them. Opaque to callers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson

__all__ = ["InvalidCursor", "encode_cursor", "decode_cursor", "page"]

T = TypeVar("T")


class InvalidCursor(ValueError):
    pass


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, list):
        return tuple(_typed(v) for v in value)
    return value


def encode_cursor(key: tuple) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(_plain(key))).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple:
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = _typed(decoded)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidCursor("not a cursor this API gave") from exc
    if not isinstance(key, tuple):
        raise InvalidCursor("not a cursor this API gave")
    return key


def page(rows: Sequence[T], key: Callable[[T], tuple], after: str | None, limit: int,
         arity: int | None = None) -> tuple[list[T], str | None]:
    """The rows (sorted by `key`) after the cursor, at most `limit`, and the next cursor
    (None on the last page). `arity`: the length of every key, so a cursor of another
    list is refused even when this one is empty."""
    start = 0
    if after is not None:
        last = decode_cursor(after)
        if arity is not None and len(last) != arity:
            raise InvalidCursor("not a cursor of this list")
        try:
            start = next((i for i, row in enumerate(rows) if key(row) > last), len(rows))
        except TypeError as exc:  # a key of another shape: a cursor of another endpoint
            raise InvalidCursor("not a cursor of this list") from exc
    chosen = list(rows[start:start + limit])
    more = start + limit < len(rows)
    return chosen, encode_cursor(key(chosen[-1])) if more and chosen else None
