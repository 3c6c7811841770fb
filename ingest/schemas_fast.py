"""The compiled validation path for plain JSON batches (msgspec), beside the generic one in schemas.py."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson

from .errors import FieldError
from .schemas import JSON_TYPES, Limits, ValidatedRequest, _time, media_type, rfc3339_utc

__all__ = ["validate_json_fast"]


# --- the compiled path ------------------------------------------------------------------
#
# Why: at batches of 100 the generic path above cost a third of the request's CPU in
# building a dict per event (orjson.loads), reading it back in Python and serialising
# a new dict per event (orjson.dumps), ``data`` included, although ``data`` travels on
# unchanged. Here msgspec decodes the envelope into typed structs in C and keeps each
# ``data`` as the raw JSON text it was sent as, and the payload is encoded in C around it.
#
# It only ever *accepts*: any event it cannot vouch for (a missing or mistyped field,
# ``data`` not an object or over the size limit, a number or byte the stream's orjson
# would refuse, too many events, anything else unusual) sends the whole request down
# the generic path, which names every bad event's index, field and reason as always.
# So the contract, errors included, is the generic path's; this one is a shortcut.


class _Payload(msgspec.Struct, gc=False):
    """An event as it goes into a pack: the same fields, in the same order, as the generic path's."""

    id: str
    source: str
    type: str
    subject: str
    time: str
    data: msgspec.Raw


_ENCODE = msgspec.json.Encoder().encode
_EMPTY_OBJECT = msgspec.Raw(b"{}")
# msgspec checks the JSON syntax of a raw value but, unlike orjson (which the stream
# decodes records with), lets through numbers that overflow a double: 1e400, or 309
# digits and more. Either needs an "e"/"E" or a long ``data``; only such a ``data`` is
# re-read by orjson (cheaper, in instructions, than finding exactly those numbers with
# a regex or bytes.translate).
_LONGEST_PLAIN_DATA = 300


def _may_overflow(raw: bytes) -> bool:
    return b"e" in raw or b"E" in raw or len(raw) > _LONGEST_PLAIN_DATA


@functools.lru_cache(maxsize=4)
def _decoders(limits: Limits) -> tuple[Callable[[bytes], list], Callable[[bytes], Any]]:
    """Decoders for a batch and for one event that check every field's type and length in C."""
    ident = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.max_id_length)]
    text = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.max_string_length)]
    event = msgspec.defstruct("CloudEvent", [
        ("id", ident), ("source", text), ("type", text), ("subject", ident),
        ("specversion", Literal["1.0"], "1.0"), ("time", str | None, None),
        ("data", msgspec.Raw, msgspec.Raw(b"null")),
    ], gc=False)  # strings and bytes only: nothing for the collector to track
    return msgspec.json.Decoder(list[event]).decode, msgspec.json.Decoder(event).decode


def validate_json_fast(body: bytes, content_type: str | None, now: datetime,
                       limits: Limits) -> ValidatedRequest | None:
    """A JSON body of valid events, validated in C; None when the generic path must decide."""
    # Over 60 lines on purpose, as validate_events: the per-event loop is the hot path and
    # stays inline; what can leave it (the decoders, the overflow screen) already has.
    kind = media_type(content_type)
    if kind not in JSON_TYPES and not kind.endswith("+json"):
        return None  # NDJSON or a media type to refuse: the generic path
    if not body.isascii():
        try:
            body.decode()  # msgspec does not check the UTF-8 of a raw value; orjson (the stream) does
        except UnicodeDecodeError:
            return None
    first = body.lstrip()[:1]
    decode_batch, decode_one = _decoders(limits)
    try:
        if first == b"[":
            events = decode_batch(body)
        elif first == b"{":
            events = [decode_one(body)]
        else:
            return None
    except msgspec.DecodeError:  # ValidationError included: a field missing or mistyped
        return None
    if not 0 < len(events) <= limits.max_events:
        return None
    subjects: list[str] = []
    payloads: list[bytes] = []
    types: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    received = rfc3339_utc(now)
    max_data = limits.max_data_bytes
    encode = _ENCODE
    for event in events:
        event_id, event_type, subject, data = event.id, event.type, event.subject, event.data
        raw = bytes(data)
        if raw[:1] != b"{":
            if raw != b"null":
                return None
            data = _EMPTY_OBJECT
        elif len(raw) > max_data:
            return None  # the limit is on the compact form, which the generic path measures
        elif _may_overflow(raw):
            try:
                orjson.loads(raw)
            except orjson.JSONDecodeError:
                return None
        moment = event.time
        if moment is None:
            time = received
        else:
            errors: list[FieldError] = []
            time = _time(moment, 0, now, limits, received, errors)
            if time is None:
                return None
        types.append(event_type)
        if event_id in seen:
            duplicates += 1
            continue
        seen.add(event_id)
        subjects.append(subject)
        payloads.append(encode(_Payload(event_id, event.source, event_type, subject, time, data)))
    return ValidatedRequest(subjects, payloads, duplicates, received, types)
