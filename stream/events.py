"""Decoding the ingest service's Kafka records (packs of one subject's events)."""

from __future__ import annotations

import uuid

import orjson

from metering import UsageEvent, parse_event_time

__all__ = ["decode_pack", "DecodedPack"]


class DecodedPack:
    __slots__ = ("tenant_id", "received_at", "events")

    def __init__(self, tenant_id: uuid.UUID, received_at: str, events: list[UsageEvent]) -> None:
        self.tenant_id = tenant_id
        self.received_at = received_at
        self.events = events


def decode_pack(value: bytes) -> DecodedPack:
    """Record value: {"tenant_id", "received_at", "events": [{id, source, type, subject, time, data}]}."""
    pack = orjson.loads(value)
    tenant_id = uuid.UUID(pack["tenant_id"])
    # Positional arguments: this runs once per event, and keywords cost more.
    events = [UsageEvent(tenant_id, e["id"], e["type"], e.get("subject", ""), parse_event_time(e["time"]),
                         e.get("data") or {}, e.get("source", ""))
              for e in pack["events"]]
    return DecodedPack(tenant_id, pack.get("received_at", ""), events)
