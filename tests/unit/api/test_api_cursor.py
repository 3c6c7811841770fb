"""Cursor pagination (pure): every row once, in order, whatever the page size."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from api.usage.cursor import InvalidCursor, decode_cursor, encode_cursor, page

T0 = datetime(2026, 3, 8, tzinfo=timezone.utc)
ROWS = sorted([("m", T0 + timedelta(hours=h), (("region", True, r),), s is not None, s or "")
               for h in range(5) for r in ("eu", "us") for s in (None, "a")])


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 20, 40, 41])
def test_pages_visit_every_row_once(limit):
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = page(ROWS, lambda r: r, cursor, limit)
        seen.extend(rows)
        pages += 1
        assert len(rows) <= limit
        if cursor is None:
            break
    assert seen == ROWS
    assert pages == -(-len(ROWS) // limit)


@pytest.mark.parametrize(("rows", "limit", "next_is_none"), [([], 5, True), (ROWS[:5], 5, True), (ROWS[:6], 5, False)])
def test_last_page_has_no_cursor(rows, limit, next_is_none):
    assert (page(rows, lambda r: r, None, limit)[1] is None) is next_is_none


def test_cursor_round_trips_keys_with_times():
    key = ("m", T0, (("region", True, "eu"),), False, "")
    assert decode_cursor(encode_cursor(key)) == key


@pytest.mark.parametrize("cursor", ["not-base64!", "bnVsbA", "e30"])
def test_foreign_cursors_are_refused(cursor):
    with pytest.raises(InvalidCursor):
        page(ROWS, lambda r: r, cursor, 3)


@pytest.mark.parametrize(("rows", "cursor"), [(ROWS, encode_cursor(("m",))), ([], encode_cursor(()))])
def test_cursor_of_another_shape_is_refused_even_on_an_empty_list(rows, cursor):
    with pytest.raises(InvalidCursor):
        page(rows, lambda r: r, cursor, 3, arity=5)
