"""A request's events to Kafka records: one pack per partition, split when large. Pure.

The stream worker decodes exactly this record format::

    key       = f"{tenant_id}".encode(), or f"{tenant_id}/{shard}".encode() for a tenant
                with several shards (shard = crc32(subject) % shards), or f"{tenant_id}:{subject}"
                for a tenant keyed per subject (shard count PER_SUBJECT = 0)
    partition = murmur2(key) % partitions, for every event in the pack
    value     = {"tenant_id": "<uuid>", "received_at": "<RFC 3339 UTC>",
                 "events": [{"id", "source", "type", "subject", "time", "data"}, ...]}

Records are keyed by tenant (issue 16): all of a tenant's events go to one partition, so
the stream worker that owns the partition owns the tenant's dedup record and windows and
no two workers wait on each other's row locks. A tenant too large for one partition (one
worker) gets a shard count (``IngestSettings.tenant_key_shards``): its subjects are spread
over that many keys, so over up to that many partitions and workers (0: a key per
subject, over every partition). Either way one
subject's events stay in order on one partition, and a request's events of one key share
one record (in request order). Records keyed ``tenant:subject`` (before issue 16) are
read the same way: the stream reads each event's own ``tenant_id`` and ``subject``, never
the key (stream/README.md, "Keying").
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import orjson

__all__ = ["Record", "group_by_partition", "pack_events", "pack_head", "pack_value", "shard_key", "PER_SUBJECT"]

_EVENTS_OPEN = b',"events":['
PER_SUBJECT = 0  # a shard count meaning one key per subject (tenant:subject)
_CLOSE = b"]}"


@dataclass(frozen=True, slots=True)
class Record:
    key: bytes
    value: bytes
    events: int
    partition: int


def group_by_partition(tenant_id: str, subjects: list[str], payloads: list[bytes],
                       partition_of: Callable[[bytes], int],
                       shards: int = PER_SUBJECT) -> list[tuple[int, bytes, list[bytes]]]:
    """(partition, key, payloads) per key, in first-seen order, each in request order.

    ``subjects[i]`` and ``payloads[i]`` are event i's subject and JSON object (see
    ``ingest.schemas.ValidatedRequest``); ``shards`` is the tenant's shard count (1: one
    key, the service's default; ``PER_SUBJECT``: one key per subject, ``tenant:subject``,
    as before issue 16, spreading the tenant over every partition).
    """
    if shards == 1:
        key = tenant_id.encode()
        return [(partition_of(key), key, payloads)]
    if len(subjects) == 1:  # a single event: no dictionaries
        key = shard_key(tenant_id, subjects[0], shards)
        return [(partition_of(key), key, payloads)]
    keys: dict[str, bytes] = {}  # subject -> key, one encode and one hash per subject
    parts: dict[str, int] = {}
    groups: dict[int, tuple[int, bytes, list[bytes]]] = {}
    for subject, payload in zip(subjects, payloads, strict=True):
        partition = parts.get(subject)
        if partition is None:
            key = keys[subject] = shard_key(tenant_id, subject, shards)
            partition = parts[subject] = partition_of(key)
        group = groups.get(partition)
        if group is None:
            groups[partition] = (partition, keys[subject], [payload])
        else:
            group[2].append(payload)
    return list(groups.values())


def shard_key(tenant_id: str, subject: str, shards: int) -> bytes:
    """The record key of a subject's events for a tenant with `shards` shards. crc32 picks
    the shard: stable across processes and releases, unlike Python's hash."""
    if shards == PER_SUBJECT:
        return f"{tenant_id}:{subject}".encode()
    if shards == 1:
        return tenant_id.encode()
    return f"{tenant_id}/{zlib.crc32(subject.encode()) % shards}".encode()


def pack_head(tenant_id: str, received_at: str) -> bytes:
    """A pack's value up to its first event."""
    return orjson.dumps({"tenant_id": tenant_id, "received_at": received_at})[:-1] + _EVENTS_OPEN


def pack_value(head: bytes, payloads: list[bytes]) -> bytes:
    return head + b",".join(payloads) + _CLOSE


def pack_events(tenant_id: str, received_at: str, subjects: list[str], payloads: list[bytes],
                max_events: int, max_bytes: int, partition_of: Callable[[bytes], int],
                shards: int = PER_SUBJECT) -> list[Record]:
    """Group by key (first-seen order), split each group at ``max_events`` or ``max_bytes``.

    One request's records on their own; the service coalesces concurrent requests'
    groups instead (``ingest.coalescing``), with the same format and the same split.
    """
    head = pack_head(tenant_id, received_at)
    records: list[Record] = []
    for partition, key, payloads in group_by_partition(tenant_id, subjects, payloads, partition_of, shards):
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
