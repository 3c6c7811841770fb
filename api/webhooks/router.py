"""`POST /webhooks/stripe`: verify the signature, then apply the event once.

Wrong, missing or stale signatures get 400 (Stripe retries them, which is
right if our secret was being rotated). A verified event is acknowledged with
200 even when billing does not follow its type, so Stripe stops redelivering.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from ..deps import DatabaseDep, WiringDep
from ..errors import error_responses
from . import service
from .schemas import WebhookAck

__all__ = ["router"]

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks/stripe", summary="Receive a Stripe event (signed with the webhook secret)",
             response_model=WebhookAck,
             responses=error_responses((400, "Not a Stripe event billing can read, or a wrong, missing or stale "
                                             "signature")))
async def receive_stripe_event(
    request: Request,
    wiring: WiringDep,
    database: DatabaseDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookAck:
    event_id, outcome = await service.receive_stripe_event(
        database, wiring.stripe_webhook_secret.get_secret_value(), await request.body(), stripe_signature or "")
    return WebhookAck(event_id=event_id, outcome=outcome)
