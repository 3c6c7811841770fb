"""The fate of an event in the event view (pure)."""

from __future__ import annotations

import pytest

from api.events_view.fate import event_fate


@pytest.mark.parametrize(("counting", "dead", "fate"), [
    (["calls"], [], "counted"),
    (["calls", "tokens"], ["tokens"], "counted"),  # one meter could not read its value, the other counted it
    (["tokens"], ["tokens"], "dead_lettered"),
    (["calls", "tokens"], ["calls", "tokens"], "dead_lettered"),
    (["calls"], [""], "dead_lettered"),  # the whole event: beyond the dedup horizon
    ([], [""], "dead_lettered"),
    ([], [], "unmetered"),
    ([], ["old-meter"], "unmetered"),  # a meter since deleted dead-lettered it; none counts its type now
])
def test_event_fate(counting, dead, fate):
    assert event_fate(counting, dead) == fate
