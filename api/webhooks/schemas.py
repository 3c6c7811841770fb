"""What a Stripe event must look like before billing reads it.

The signature proves who sent a body, not that billing can read it: a signed event with
`created` = 1e20, a NUL in an id (PostgreSQL refuses it) or an amount beyond bigint would
fail deep in billing as a 500. These models hold the fields billing reads
(billing_jobs.webhooks.parse_event and interpret_event) to what it can store; everything
else in the event passes untouched.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from ..fields import LATEST_INSTANT, text

__all__ = ["StripeEventEnvelope", "WebhookAck"]

StripeId = text(255)
_BIGINT = 2**63 - 1
Amount = Annotated[int, Field(ge=-_BIGINT, le=_BIGINT)]


class StripeObject(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StripeId | None = None
    customer: StripeId | None = None
    invoice: StripeId | None = None
    charge: StripeId | None = None
    payment_intent: StripeId | None = None
    amount_paid: Amount | None = None
    amount_due: Amount | None = None
    amount_refunded: Amount | None = None
    total: Amount | None = None


class StripeEventData(BaseModel):
    model_config = ConfigDict(extra="allow")

    object: StripeObject


class StripeEventEnvelope(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StripeId
    type: StripeId
    created: Annotated[int, Field(ge=0, lt=int(LATEST_INSTANT.timestamp()))]
    data: StripeEventData


class WebhookAck(BaseModel):
    event_id: str
    outcome: str = Field(description="What billing did: paid, duplicate, ignored, unknown customer, ...")


def event_problems(event: Any) -> str | None:
    """Why billing could not read `event`, or None."""
    from pydantic import ValidationError

    try:
        StripeEventEnvelope.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        return f"{where}: {first['msg'].removeprefix('Value error, ')}"
    return None
