"""What services and readers raise when a request cannot be done: no HTTP in sight.

    DomainError
     ├── InvalidInput      the request's values break a rule (422)
     ├── MalformedRequest  the request cannot be read or verified at all (400)
     ├── Unauthenticated   no valid credentials (401)
     ├── Forbidden         valid credentials, not enough rights (403)
     ├── NotFound          (404; also for another tenant's ids, so they leak nothing)
     ├── Conflict          the current state forbids it (409)
     ├── Gone              it existed but is over: used, withdrawn or expired (410)
     ├── RateLimited       too many requests or failures; retry after `retry_after_s` (429)
     ├── ProviderRefused   a provider we depend on said no (502)
     └── Unavailable       a store or provider cannot be reached (503)

`api.errors` alone maps them to HTTP statuses and the JSON error shape. `code` is the
stable machine-readable code (default: the status's generic one); `problems` name the
fields at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FieldProblem", "DomainError", "InvalidInput", "MalformedRequest", "Unauthenticated", "Forbidden",
           "NotFound", "Conflict", "Gone", "RateLimited", "ProviderRefused", "Unavailable"]


@dataclass(frozen=True)
class FieldProblem:
    """One field at fault: `location` is where the caller put it (body, query, path)."""

    field: str
    reason: str
    location: str = "body"

    def as_detail(self) -> dict[str, Any]:
        return {"field": self.field, "location": self.location, "reason": self.reason}


class DomainError(Exception):
    def __init__(self, message: str, *, code: str | None = None, problems: Sequence[FieldProblem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.problems = tuple(problems)


class InvalidInput(DomainError):
    pass


class MalformedRequest(DomainError):
    pass


class Unauthenticated(DomainError):
    pass


class Forbidden(DomainError):
    pass


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class Gone(DomainError):
    pass


class RateLimited(DomainError):
    """Mapped to 429 with Retry-After by api.rate_limits (which registers its handler)."""

    def __init__(self, message: str, *, retry_after_s: int, code: str = "rate_limited") -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class ProviderRefused(DomainError):
    pass


class Unavailable(DomainError):
    pass
