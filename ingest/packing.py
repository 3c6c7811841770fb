"""A request's events to Kafka records: one pack per partition, split when large. Pure.

The stream worker decodes exactly this record format::

    partition = murmur2(f"{tenant_id}:{subject}") % partitions, for every event in the pack
    key       = f"{tenant_id}:{subject}".encode() of the pack's first event
    value     = {"tenant_id": "<uuid>", "received_at": "<RFC 3339 UTC>",
                 "events": [{"id", "source", "type", "subject", "time", "data"}, ...]}

Each event goes to the partition Kafka's default partitioner gives its ``tenant:subject``
key, so one subject's events stay in order on one partition while a hot tenant's many
subjects spread over all of them. Events that share a partition then share one record
(in request order, which keeps each subject's order): a request of 100 events over 50
subjects becomes at most one record per partition instead of 50, and the per-record
cost of the producer and of the broker is what dominates at such batch sizes. The key
is one of the pack's subjects, so it hashes to the record's partition too. The stream
reads each event's own ``subject``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

__all__ = ["Record", "group_by_partition", "pack_events", "pack_head", "pack_value"]

_EVENTS_OPEN = b',"events":['
_CLOSE = b"]}"


@dataclass(frozen=True, slots=True)
class Record:
    key: bytes
    value: bytes
    events: int
    partition: int


def group_by_partition(tenant_id: str, subjects: list[str], payloads: list[bytes],
                       partition_of: Callable[[bytes], int]) -> list[tuple[int, bytes, list[bytes]]]:
    """(partition, key, payloads) per partition, in first-seen order, each in request order.

    ``subjects[i]`` and ``payloads[i]`` are event i's subject and JSON object (see
    ``ingest.schemas.ValidatedRequest``).
    """
    if len(subjects) == 1:  # a single event: no dictionaries
        key = f"{tenant_id}:{subjects[0]}".encode()
        return [(partition_of(key), key, payloads)]
    prefix = f"{tenant_id}:"
    keys: dict[str, bytes] = {}  # subject -> key, one encode and one hash per subject
    parts: dict[str, int] = {}
    groups: dict[int, tuple[int, bytes, list[bytes]]] = {}
    for subject, payload in zip(subjects, payloads, strict=True):
        partition = parts.get(subject)
        if partition is None:
            key = keys[subject] = (prefix + subject).encode()
            partition = parts[subject] = partition_of(key)
        group = groups.get(partition)
        if group is None:
            groups[partition] = (partition, keys[subject], [payload])
        else:
            group[2].append(payload)
    return list(groups.values())


def pack_head(tenant_id: str, received_at: str) -> bytes:
    """A pack's value up to its first event."""
    return orjson.dumps({"tenant_id": tenant_id, "received_at": received_at})[:-1] + _EVENTS_OPEN


def pack_value(head: bytes, payloads: list[bytes]) -> bytes:
    return head + b",".join(payloads) + _CLOSE


def pack_events(tenant_id: str, received_at: str, subjects: list[str], payloads: list[bytes],
                max_events: int, max_bytes: int, partition_of: Callable[[bytes], int]) -> list[Record]:
    """Group by partition (first-seen order), split each group at ``max_events`` or ``max_bytes``.

    One request's records on their own; the service coalesces concurrent requests'
    groups instead (``ingest.coalescing``), with the same format and the same split.
    """
    head = pack_head(tenant_id, received_at)
    records: list[Record] = []
    for partition, key, payloads in group_by_partition(tenant_id, subjects, payloads, partition_of):
        if len(payloads) <= max_events and sum(map(len, payloads)) + len(payloads) <= max_bytes:
            records.append(_record(key, head, payloads, partition))  # the usual case, sized in C
            continue
        start, size = 0, 0
        for i, payload in enumerate(payloads):
            if i > start and (i - start >= max_events or size + len(payload) > max_bytes):
                records.append(_record(key, head, payloads[start:i], partition))
                start, size = i, 0
            size += len(payload) + 1
        records.append(_record(key, head, payloads[start:], partition))
    return records


def _record(key: bytes, head: bytes, payloads: list[bytes], partition: int) -> Record:
    return Record(key, pack_value(head, payloads), len(payloads), partition)
