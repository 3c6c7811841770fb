"""A taken batch of Kafka records cut into transactions of bounded size. Pure.

faust hands the agent up to `batch_size` records at once (a catch-up: ~1,000,000 events),
and one PostgreSQL transaction per take held them all in the worker's memory, decoded,
with nothing visible before its commit. Here the take becomes runs of whole records, in
offset order, each at most `max_events` events and `max_bytes` bytes of record values
(`StreamSettings.max_transaction_events` / `_bytes`; a single record beyond them is a run
of its own: a record is the unit whose position a transaction commits). Each run is one
transaction committing its own records' positions, so a crash between two runs replays
only the later ones, which the positions of the earlier ones skip.

Records are decoded here, lazily: only the run being written is held decoded. A record
that does not decode is passed on as it is, and the sink dead-letters it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from .events import decode_pack
from .sinks.postgres import SourceRecord

__all__ = ["bounded_runs"]


def bounded_runs(records: Iterable[SourceRecord], max_events: int, max_bytes: int) -> Iterator[list[SourceRecord]]:
    run: list[SourceRecord] = []
    events = size = 0
    for record in records:
        try:
            decoded = tuple(decode_pack(record.value).events) if record.events is None else record.events
        except Exception:  # noqa: BLE001 - the sink dead-letters what does not decode
            decoded = None
        count = len(decoded) if decoded is not None else 0
        if run and (events + count > max_events or size + len(record.value) > max_bytes):
            yield run
            run, events, size = [], 0, 0
        run.append(record if decoded is None or record.events is not None else replace(record, events=decoded))
        events += count
        size += len(record.value)
    if run:
        yield run
