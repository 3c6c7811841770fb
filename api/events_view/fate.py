"""The fate of one event (pure).

- `dead_lettered`: a dead letter for the whole event (meter "", e.g. beyond the dedup
  horizon), or every meter of its type dead-lettered it (e.g. its value is missing);
- `unmetered`: stored, but no meter of the tenant counts its type (now);
- `counted`: at least one meter counted it; `dead_letters` still lists the meters that
  could not (a meter whose value path the event lacks).

Duplicates have no fate of their own here: the stream keeps the first copy of an id
and only tallies later copies per minute (no per-id record), so a duplicate shows as
its id's first copy, and the view's `duplicates_dropped` counts the copies dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

__all__ = ["Fate", "event_fate"]

Fate = Literal["counted", "dead_lettered", "unmetered"]


def event_fate(counting_meters: Iterable[str], dead_letter_meters: Iterable[str]) -> Fate:
    counting, dead = set(counting_meters), set(dead_letter_meters)
    if "" in dead or (counting and counting <= dead):
        return "dead_lettered"
    if not counting:
        return "unmetered"
    return "counted"
