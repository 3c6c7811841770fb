"""Finding the events a store cannot hold, so that the rest of the batch commits.

A batch the sinks refuse for its data (``UnwritableData``) is split in two, in offset
order, and each half written on its own, recursively: a half that commits is done, a
half that fails is split again. A single record that fails is split into its events
(its pieces commit without advancing the position, the last piece advances it). A
single event that fails is dead-lettered with what the store said. One poison event
among n records costs about 2·log2(n) small transactions; clean batches never come here.

Positions stay exact because halves are written in offset order and each transaction
commits the positions of its own records (``SourceRecord.advances``). A crash between
two pieces of one record replays the record: the pieces already committed are then
dedup hits (counted once, tallied as duplicates), never counted twice.

The bound: past ``expired()`` (StreamSettings.poison_bound_s after the batch began), a
part that still fails is dead-lettered whole instead of split further, with the store's
reason, so no tenant's usage waits longer than the bound for another's poison.

Pure logic over a port (``IsolatingWriter``): the worker gives it the PostgreSQL sink,
unit tests a fake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from .sinks.failures import UnwritableData

__all__ = ["IsolatingWriter", "write_isolating"]

R = TypeVar("R")
O = TypeVar("O")


class IsolatingWriter(Protocol[R, O]):
    async def write(self, records: Sequence[R]) -> O:
        """One transaction; raises UnwritableData (nothing committed) or an outage error."""

    def split(self, record: R) -> tuple[R, R] | None:
        """The record's events in two pieces, None for a single event."""

    def refuse(self, record: R, reason: str) -> R:
        """The record, its events to be dead-lettered with `reason` instead of counted."""

    def give_up(self, record: R, reason: str) -> R:
        """The record, advancing its position only, its events reported on the dead-letter
        topic alone: for when even the dead-letter rows cannot be stored."""


async def write_isolating(writer: IsolatingWriter, records: Sequence[R], expired: Callable[[], bool]) -> list:
    """Write `records`, isolating and dead-lettering what cannot be stored; the outcomes of
    every committed transaction, in order. Outage errors propagate (the caller retries)."""
    try:
        return [await writer.write(records)]
    except UnwritableData as exc:
        failure = exc
    if expired():
        return [await _refuse(writer, records, f"{failure.reason} (not isolated within the bound; "
                                                 "the whole part was dead-lettered)")]
    if len(records) > 1:
        middle = len(records) // 2
        first = await write_isolating(writer, records[:middle], expired)
        return first + await write_isolating(writer, records[middle:], expired)
    pieces = writer.split(records[0])
    if pieces is None:
        return [await _refuse(writer, records, failure.reason)]
    return await write_isolating(writer, list(pieces), expired)


async def _refuse(writer: IsolatingWriter, records: Sequence[R], reason: str):
    try:
        return await writer.write([writer.refuse(r, reason) for r in records])
    except UnwritableData as exc:
        return await writer.write([writer.give_up(r, f"{reason}; its dead letter could not be stored either: "
                                                     f"{exc.reason}") for r in records])
