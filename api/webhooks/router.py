"""`POST /webhooks/stripe`: verify the signature, then apply the event once.

Wrong, missing or stale signatures get 400 (Stripe retries them, which is
right if our secret was being rotated). A verified event is acknowledged with
200 even when billing does not follow its type, so Stripe stops redelivering.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from billing_jobs.errors import InvalidWebhookError
from billing_jobs.stripe_adapter import verify_webhook
from billing_jobs.webhooks import parse_event
from warehouse.postgres.billing_webhooks import record_stripe_event

from ..deps import EngineDep, SettingsDep
from ..errors import ApiError

__all__ = ["router"]

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks/stripe", summary="Receive a Stripe event (signed with the webhook secret)")
async def receive_stripe_event(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> dict[str, str]:
    payload = await request.body()
    try:
        event = parse_event(verify_webhook(payload, stripe_signature or "",
                                           settings.stripe.webhook_secret.get_secret_value()))
    except (InvalidWebhookError, ValueError) as exc:
        raise ApiError(400, str(exc), code="invalid_webhook") from None
    async with engine.begin() as conn:
        outcome = await record_stripe_event(conn, event)
    return {"event_id": event.id, "outcome": outcome}
