"""The compiled validation path: a plain JSON batch of valid events, validated in C (see below)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson

from .errors import FieldError
from .schemas import _EMPTY, JSON_TYPES, Limits, ValidatedRequest, _time, media_type, rfc3339_utc
from .storable import MeterRules, data_may_hold_control, envelope_control_reason, meter_errors, text_may_hold_control

__all__ = ["validate_json_fast"]


# --- the compiled path ------------------------------------------------------------------
#
# Why: at batches of 100 the generic path (ingest.schemas) cost a third of the request's CPU in
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


def validate_json_fast(body: bytes, content_type: str | None, now: datetime, limits: Limits,
                       meters: MeterRules | None = None) -> ValidatedRequest | None:
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
    except (msgspec.DecodeError, RecursionError):  # ValidationError included: a field missing or mistyped
        return None
    if not 0 < len(events) <= limits.max_events:
        return None
    subjects: list[str] = []
    payloads: list[bytes] = []
    types: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    received = rfc3339_utc(now)
    max_data, max_depth = limits.max_data_bytes, limits.max_json_depth
    # Nesting deeper than max_depth takes 2 * (max_depth + 1) bytes at least: shorter data
    # is not even scanned, longer data has its brackets counted (inline: per event).
    deep_length = 2 * max_depth + 1
    controls = text_may_hold_control(body)  # once for the body: per event only if it may
    encode = _ENCODE
    for event in events:
        event_id, event_type, subject, data = event.id, event.type, event.subject, event.data
        raw = bytes(data)
        parsed: Any = None
        if raw[:1] != b"{":
            if raw != b"null":
                return None
            data = _EMPTY_OBJECT
            parsed = _EMPTY
        elif len(raw) > max_data or (len(raw) > deep_length and raw.count(b"{") + raw.count(b"[") > max_depth):
            return None  # the size limit is on the compact form, which the generic path measures
        elif _may_overflow(raw):
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return None
        # isprintable (C) is False for every control character and a few others (U+2028,
        # format characters): only those strings pay for the exact check.
        if controls and not (event_id.isprintable() and subject.isprintable() and event_type.isprintable()
                             and event.source.isprintable()):
            if any(envelope_control_reason(text) for text in (event_id, event.source, event_type, subject)):
                return None
        if controls and data_may_hold_control(raw):
            return None
        if meters and (rules := meters.get(event_type)) is not None and (rules.values or controls):
            if meter_errors(0, orjson.loads(raw) if parsed is None else parsed, rules, controls):
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

