"""The instant a subscription request acts at: one clock read per request, overridable in tests;
and the usage horizon a migrated subscription must start within.

Starting, changing and cancelling all happen "at now"; taking it once, as a
dependency, makes the old subscription's end and the new one's start the same
instant, and lets tests place a change in the middle of a chosen period.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request

from ..auth import utcnow

__all__ = ["Now", "get_now", "UsageHorizon", "get_usage_horizon"]


def get_now() -> datetime:
    return utcnow()


Now = Annotated[datetime, Depends(get_now)]


def get_usage_horizon(request: Request) -> timedelta:
    return request.app.state.wiring.usage_horizon


UsageHorizon = Annotated[timedelta, Depends(get_usage_horizon)]
