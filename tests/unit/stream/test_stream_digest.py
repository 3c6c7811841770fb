"""stream.events.content_digest: stored in the dedup record and compared with later copies'
digests, so its value for a given event must never change between versions (a changed
digest would report every duplicate across an upgrade as a conflict)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from metering import UsageEvent
from stream.events import content_digest

TENANT = uuid.UUID("00000000-0000-0000-0000-000000000001")
AT = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=timezone.utc)


def event(data: dict, event_id: str = "evt-1", subject: str = "cust-7") -> UsageEvent:
    return UsageEvent(TENANT, event_id, "api.call", subject, AT, data, "sdk")


def test_the_digest_of_a_known_event_is_the_one_stored_by_earlier_versions():
    assert content_digest(event({"tokens": 42, "model": "m1", "nested": {"b": 1, "a": [1, 2]}})) == -5484472998831043598
    # beyond what orjson writes: the digest of the event's repr
    assert content_digest(event({"big": 2**70})) == 2555862683963701085


def test_key_order_does_not_matter_and_the_id_is_not_part_of_it():
    assert content_digest(event({"a": 1, "b": 2})) == content_digest(event({"b": 2, "a": 1}, event_id="other"))


def test_what_the_event_says_changes_it():
    base = content_digest(event({"tokens": 1}))
    assert content_digest(event({"tokens": 2})) != base
    assert content_digest(event({"tokens": 1}, subject="cust-8")) != base
