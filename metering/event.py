"""A decoded usage event and its time. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, NamedTuple

__all__ = ["UsageEvent", "parse_event_time"]


class UsageEvent(NamedTuple):
    """One decoded event. A NamedTuple rather than a frozen dataclass: the stream builds
    one per event, and a frozen dataclass's __init__ costs several times a tuple's."""

    tenant_id: uuid.UUID
    id: str
    type: str
    subject: str
    time: datetime
    data: Mapping[str, Any]
    source: str = ""


def parse_event_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)  # Python 3.11 reads a trailing "Z" too
    if parsed.tzinfo is timezone.utc:  # the common case: skip the conversion (once per event)
        return parsed
    if parsed.tzinfo is None:
        raise ValueError("time must carry a UTC offset")
    return parsed.astimezone(timezone.utc)
