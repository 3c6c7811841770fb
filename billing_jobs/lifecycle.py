"""A tenant's lifecycle as pure transitions: suspend, resume, schedule deletion, cancel it, purge.

    active --suspend--> suspended --resume--> active
    active | suspended --schedule_deletion (export taken lately)--> deleting
    deleting --cancel_deletion--> suspended (if a suspension is still standing) | active
    deleting, past purge_after --> purged (billing_jobs.tenant_purge)

A suspension records who made it (`dunning` or `operator`): dunning lifts only its own,
so paying an invoice never lifts an operator's suspension, and a suspension made during
the deletion grace period is restored if the deletion is cancelled. Ingest refuses every
status but `active` (ingest/auth.py); the tenant's people keep reading their data.

No I/O and no clock: callers pass the state, `now` and the settings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

__all__ = ["TenantStatus", "Suspender", "TenantState", "LifecycleRefused", "suspend", "resume",
           "schedule_deletion", "cancel_deletion", "purge_due"]

TenantStatus = Literal["active", "suspended", "deleting"]
Suspender = Literal["dunning", "operator"]


@dataclass(frozen=True)
class TenantState:
    status: TenantStatus
    suspended_by: Suspender | None = None
    status_reason: str | None = None
    export_taken_at: datetime | None = None
    deletion_requested_at: datetime | None = None
    purge_after: datetime | None = None


class LifecycleRefused(Exception):
    """The transition does not apply to the tenant's state; `code` says why (API error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def suspend(state: TenantState, by: Suspender, reason: str) -> TenantState:
    """Standing suspensions are kept: an operator's reason is not overwritten by dunning's, nor
    dunning's by an operator's (who then owns it, so that dunning will not lift it)."""
    if state.suspended_by == "operator" or (state.suspended_by == by):
        if by == "operator":
            return replace(state, status_reason=reason)
        return state
    status: TenantStatus = "deleting" if state.status == "deleting" else "suspended"
    return replace(state, status=status, suspended_by=by, status_reason=reason)


def resume(state: TenantState, by: Suspender) -> TenantState:
    """Dunning lifts only its own suspension; an operator lifts any."""
    if state.suspended_by is None:
        raise LifecycleRefused("not_suspended", "the tenant is not suspended")
    if by == "dunning" and state.suspended_by != "dunning":
        return state
    status: TenantStatus = "deleting" if state.status == "deleting" else "active"
    reason = state.status_reason if status == "deleting" else None
    return replace(state, status=status, suspended_by=None, status_reason=reason)


def schedule_deletion(state: TenantState, now: datetime, grace: timedelta, export_max_age: timedelta) -> TenantState:
    """The owner asks; the export they can download must be recent, so what they keep is what they leave."""
    if state.status == "deleting":
        raise LifecycleRefused("deletion_scheduled", f"the tenant is already scheduled for deletion after "
                                                     f"{state.purge_after.isoformat() if state.purge_after else '?'}")
    if state.export_taken_at is None or now - state.export_taken_at > export_max_age:
        hours = int(export_max_age.total_seconds() // 3600)
        raise LifecycleRefused("export_required", f"download the tenant's export (GET /v1/tenant/export) "
                                                  f"within {hours} hours before asking for its deletion")
    return replace(state, status="deleting", deletion_requested_at=now, purge_after=now + grace,
                   status_reason=f"deletion scheduled after {(now + grace).isoformat()}")


def cancel_deletion(state: TenantState, now: datetime) -> TenantState:
    if state.status != "deleting":
        raise LifecycleRefused("no_deletion_scheduled", "no deletion is scheduled for the tenant")
    if state.purge_after is not None and now >= state.purge_after:
        raise LifecycleRefused("grace_period_over", "the grace period is over: the tenant is being purged")
    if state.suspended_by is not None:
        return replace(state, status="suspended", deletion_requested_at=None, purge_after=None)
    return replace(state, status="active", status_reason=None, deletion_requested_at=None, purge_after=None)


def purge_due(state: TenantState, now: datetime) -> bool:
    return state.status == "deleting" and state.purge_after is not None and now >= state.purge_after
