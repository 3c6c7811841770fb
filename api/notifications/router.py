"""The caller's tenant's notifications: the outbox (everyone reads it) and where they go (managers).

Without SMTP, emails (limit alerts, payment reminders) are not sent anywhere:
the outbox is where the tenant reads them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ..deps import CurrentCaller, CurrentPrincipal, DatabaseDep, WiringDep
from ..errors import error_responses
from ..fields import Instant
from ..permissions import Permission, can
from . import service
from .schemas import (
    AlertThresholdsPublic, AlertThresholdsUpdate, NotificationTargetPublic, NotificationTargetUpdate, OutboxMessagePublic,
)

router = APIRouter(prefix="/v1/notifications", tags=["notifications"], responses=error_responses(401, 403))


@router.get("/outbox", response_model=list[OutboxMessagePublic])
async def outbox(principal: CurrentPrincipal, database: DatabaseDep,
                 channel: Annotated[Literal["email", "webhook"] | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 before: Annotated[Instant | None, Query(description="created_at of the last message seen")] = None,
                 ) -> list[OutboxMessagePublic]:
    """Invitation tokens are shown only to those who may invite (api/permissions.py USERS)."""
    records = await service.outbox_messages(database, principal.tenant_id, channel, limit, before)
    reveal = can(principal.role, Permission.USERS)
    return [OutboxMessagePublic.of(record, reveal_tokens=reveal) for record in records]


@router.get("/target", response_model=NotificationTargetPublic)
async def target(principal: CurrentPrincipal, database: DatabaseDep) -> NotificationTargetPublic:
    return NotificationTargetPublic.of(await service.notification_target(database, principal.tenant_id))


@router.put("/target", response_model=NotificationTargetPublic,
            responses=error_responses(400))
async def update_target(body: NotificationTargetUpdate, principal: CurrentPrincipal, wiring: WiringDep,
                        database: DatabaseDep) -> NotificationTargetPublic:
    """A webhook URL must resolve to public addresses only (checked again at every delivery)."""
    saved = await service.set_notification_target(database, principal.tenant_id,
                                                  str(body.email) if body.email else None,
                                                  str(body.webhook_url) if body.webhook_url else None,
                                                  body.rotate_secret, wiring.webhook_targets)
    return NotificationTargetPublic.of(saved)


def _thresholds_public(thresholds: service.AlertThresholds) -> AlertThresholdsPublic:
    return AlertThresholdsPublic(percents=list(thresholds.applied), custom=thresholds.custom,
                                 default_percents=list(thresholds.default))


@router.get("/thresholds", response_model=AlertThresholdsPublic)
async def thresholds(principal: CurrentPrincipal, wiring: WiringDep, database: DatabaseDep) -> AlertThresholdsPublic:
    """At which percents of each plan limit an alert fires (once per threshold per period)."""
    return _thresholds_public(await service.alert_thresholds(database, principal.tenant_id, wiring.limit_thresholds))


@router.put("/thresholds", response_model=AlertThresholdsPublic, responses=error_responses(400, 422))
async def update_thresholds(body: AlertThresholdsUpdate, caller: CurrentCaller, wiring: WiringDep,
                            database: DatabaseDep) -> AlertThresholdsPublic:
    """Takes effect at the next limit check. Alerts already sent this period are not sent again."""
    saved = await service.set_thresholds(database, caller, body.percents, wiring.limit_thresholds)
    return _thresholds_public(saved)
