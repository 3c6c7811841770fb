"""The one error shape of the ingest service, and the exception that carries it.

Every error answer, whatever raised it, is::

    {"error": {"code": "invalid_events", "message": "...",
               "details": [{"index": 3, "field": "time", "reason": "..."}]}}

``details`` is present (possibly empty) on every error; entries name the event's
index in the request (``null`` when the error concerns the whole request), the
field and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

__all__ = ["FieldError", "IngestError", "error_body"]

# A request of 10,000 bad events should not answer with 10,000 details.
MAX_DETAILS = 100


@dataclass(frozen=True)
class FieldError:
    index: int | None
    field: str | None
    reason: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "reason": self.reason}


@dataclass
class IngestError(Exception):
    status: int
    code: str
    message: str
    details: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def error_body(code: str, message: str, details: list[FieldError] | list[dict] = ()) -> bytes:
    shown = [d.as_dict() if isinstance(d, FieldError) else d for d in list(details)[:MAX_DETAILS]]
    return orjson.dumps({"error": {"code": code, "message": message, "details": shown}})
