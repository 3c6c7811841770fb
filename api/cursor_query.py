"""A list's `cursor` query parameter, read back into the key it was made from.

Each list knows the shape of its keys (e.g. (datetime, str)); a cursor of another list,
or none this API gave, is the same 422 naming the `cursor` field everywhere.
"""

from __future__ import annotations

from .domain_errors import FieldProblem, InvalidInput
from .usage.cursor import InvalidCursor, decode_cursor

__all__ = ["cursor_key", "bad_cursor"]


def bad_cursor() -> InvalidInput:
    return InvalidInput("not a cursor of this list", code="validation_error",
                        problems=[FieldProblem("cursor", "not a cursor of this list", "query")])


def cursor_key(cursor: str | None, *kinds: type) -> tuple | None:
    """The key of `cursor`, whose parts are of `kinds` in order; None for the first page."""
    if cursor is None:
        return None
    try:
        key = decode_cursor(cursor)
    except InvalidCursor as exc:
        raise bad_cursor() from exc
    if len(key) != len(kinds) or not all(isinstance(part, kind) for part, kind in zip(key, kinds)):
        raise bad_cursor()
    return key
