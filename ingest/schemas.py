"""Request bodies to validated events: pure functions, no I/O, no clock (``now`` is passed).

A request's body is one CloudEvents 1.0 JSON event, a JSON array of them (also as
``application/cloudevents-batch+json``) or NDJSON (``application/x-ndjson``, one event a
line). Each event is checked against the limits and turned at once into the bytes the
Kafka record carries, so the hot path builds no further per-event objects.

The whole request is rejected (422, nothing produced) when any event is invalid, and
the answer names every bad event's index, field and reason. Partial acceptance would
force clients to work out which events to resend; a whole-request reject lets them fix
and resend the same request, which is safe because ``id`` makes every event idempotent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .errors import FieldError, IngestError
from .storable import (MeterRules, data_errors, data_may_hold_control, envelope_control_reason, may_nest_deeper,
                       meter_errors)

__all__ = ["Limits", "ValidatedRequest", "parse_body", "validate_events", "rfc3339_utc"]

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl",
                          "application/x-jsonlines"})
JSON_TYPES = frozenset({"application/json", "application/cloudevents+json",
                        "application/cloudevents-batch+json", ""})

# RFC 3339 date-time with a mandatory offset; fromisoformat alone accepts ISO 8601
# variants (week dates, no offset, basic format) that RFC 3339 does not.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class Limits:
    max_events: int
    max_data_bytes: int
    max_id_length: int
    max_string_length: int
    max_age: timedelta
    max_future: timedelta
    max_json_depth: int = 32

    @classmethod
    def from_settings(cls, ingest) -> Limits:
        return cls(
            max_events=ingest.max_events_per_request,
            max_data_bytes=ingest.max_data_bytes,
            max_id_length=ingest.max_id_length,
            max_string_length=ingest.max_string_length,
            max_age=timedelta(seconds=ingest.max_event_age_s),
            max_future=timedelta(seconds=ingest.max_event_future_s),
            max_json_depth=ingest.max_json_depth,
        )


@dataclass(frozen=True)
class ValidatedRequest:
    # The unique events in request order, as two parallel lists rather than an object
    # per event: at 100 events a request, building those objects cost more than orjson.
    subjects: list[str]
    payloads: list[bytes]  # each event's JSON object as it goes into a pack
    duplicates: int  # events whose id repeated an earlier one of the same request
    received_at: str  # the request's receipt time, RFC 3339 UTC: also the time of events without one
    types: list[str]  # every event's type by its index in the request, duplicates included (meter blocks)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_body(body: bytes, content_type: str | None, max_events: int) -> list[Any]:
    """The request's raw events, or IngestError (422 malformed, 413 too many, 415 media type)."""
    kind = media_type(content_type)
    if kind in NDJSON_TYPES:
        raw = _parse_ndjson(body, max_events)
    elif kind in JSON_TYPES or kind.endswith("+json"):
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise IngestError(422, "invalid_json", f"the body is not valid JSON: {exc}",
                              [FieldError(None, None, _json_error_reason(exc))]) from None
        if isinstance(doc, dict):
            raw = [doc]
        elif isinstance(doc, list):
            raw = doc
        else:
            raise IngestError(422, "invalid_body", "the body must be a JSON object or an array of objects",
                              [FieldError(None, None, f"got a JSON {type(doc).__name__}")])
    else:
        raise IngestError(415, "unsupported_media_type",
                          f"content type {kind!r} is not one of application/json, "
                          "application/cloudevents+json, application/cloudevents-batch+json, application/x-ndjson")
    if len(raw) > max_events:
        raise IngestError(413, "too_many_events",
                          f"{len(raw)} events in one request; the limit is {max_events}",
                          [FieldError(None, None, f"at most {max_events} events per request")])
    if not raw:
        raise IngestError(422, "no_events", "the request holds no events",
                          [FieldError(None, None, "send at least one event")])
    return raw


def _parse_ndjson(body: bytes, max_events: int) -> list[Any]:
    raw: list[Any] = []
    errors: list[FieldError] = []
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        if len(raw) >= max_events:
            raise IngestError(413, "too_many_events", f"more than {max_events} events in one request",
                              [FieldError(None, None, f"at most {max_events} events per request")])
        try:
            raw.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            errors.append(FieldError(len(raw), None, f"line is not valid JSON: {_json_error_reason(exc)}"))
            raw.append(None)
    if errors:
        raise IngestError(422, "invalid_json", f"{len(errors)} NDJSON line(s) are not valid JSON", errors)
    return raw


def _json_error_reason(exc: orjson.JSONDecodeError) -> str:
    # orjson stops at 1,024 levels, before any event can be named: say what the limit is about.
    if "depth" in str(exc) or "recursion" in str(exc):
        return f"nested too deep to read ({exc}); data may nest at most max_json_depth levels"
    return str(exc)


def rfc3339_utc(moment: datetime) -> str:
    """A UTC RFC 3339 string ending in "Z", microsecond precision when there is a fraction."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _string(event: dict, name: str, index: int, max_length: int, errors: list[FieldError]) -> str | None:
    value = event.get(name)
    if not isinstance(value, str):
        errors.append(FieldError(index, name, "required string is missing" if value is None
                                 else f"must be a string, got {type(value).__name__}"))
        return None
    if not value:
        errors.append(FieldError(index, name, "must not be empty"))
        return None
    if len(value) > max_length:
        errors.append(FieldError(index, name, f"is {len(value)} characters; the limit is {max_length}"))
        return None
    return value


def _time(value: Any, index: int, now: datetime, limits: Limits, received: str,
          errors: list[FieldError]) -> str | None:
    if value is None:
        return received
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        errors.append(FieldError(index, "time", "must be an RFC 3339 date-time with an offset, "
                                 "e.g. 2026-01-31T12:00:00Z"))
        return None
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError as exc:
        errors.append(FieldError(index, "time", f"not a valid date-time: {exc}"))
        return None
    if moment < now - limits.max_age:
        errors.append(FieldError(index, "time", f"is more than {limits.max_age.days} days in the past"))
        return None
    if moment > now + limits.max_future:
        errors.append(FieldError(index, "time",
                                 f"is more than {int(limits.max_future.total_seconds())} s in the future"))
        return None
    return rfc3339_utc(moment)


def validate_events(raw: list[Any], now: datetime, limits: Limits,
                    meters: MeterRules | None = None) -> ValidatedRequest:
    """Every event checked; IngestError 422 naming each bad one, else the unique events as bytes.

    Only the CloudEvents attributes Meterline uses travel on; anything else in the body
    (a ``tenant_id`` above all: the tenant comes from the API key) is dropped. ``meters``
    (the tenant's, by event type) bound the values and labels they read (ingest.storable).
    """
    # Over 60 lines on purpose: this loop runs once per event on ingest's hot path, and
    # a helper call per event (plus its locals passed in and out) costs measurable CPU
    # per event (bench/README.md, "Where the time goes"); the checks stay inline.
    errors: list[FieldError] = []
    subjects: list[str] = []
    payloads: list[bytes] = []
    types: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    received = rfc3339_utc(now)
    max_id, max_string, max_data = limits.max_id_length, limits.max_string_length, limits.max_data_bytes
    dumps = orjson.dumps
    for index, event in enumerate(raw):
        if not isinstance(event, dict):
            errors.append(FieldError(index, None, f"an event must be a JSON object, got {type(event).__name__}"))
            continue
        n_errors = len(errors)
        event_id = event.get("id")
        source = event.get("source")
        event_type = event.get("type")
        subject = event.get("subject")
        # The common case in one expression; any doubt goes through _string, which names
        # each failing field in the same order as always.
        if not (type(event_id) is str and 0 < len(event_id) <= max_id
                and type(source) is str and 0 < len(source) <= max_string
                and type(event_type) is str and 0 < len(event_type) <= max_string
                and type(subject) is str and 0 < len(subject) <= max_id):
            event_id = _string(event, "id", index, max_id, errors)
            source = _string(event, "source", index, max_string, errors)
            event_type = _string(event, "type", index, max_string, errors)
            subject = _string(event, "subject", index, max_id, errors)
        _envelope_controls(index, (("id", event_id), ("source", source), ("type", event_type),
                                   ("subject", subject)), errors)
        spec = event.get("specversion")
        if spec is not None and spec != "1.0":
            errors.append(FieldError(index, "specversion", f'must be "1.0", got {spec!r}'))
        moment = event.get("time")
        time = received if moment is None else _time(moment, index, now, limits, received, errors)
        data = event.get("data")
        if data is None:
            data = _EMPTY
        elif not isinstance(data, dict):
            errors.append(FieldError(index, "data", f"must be a JSON object, got {type(data).__name__}"))
        if len(errors) != n_errors:
            continue
        try:
            payload = dumps({"id": event_id, "source": source, "type": event_type, "subject": subject,
                             "time": time, "data": data})
        except TypeError as exc:  # orjson writes at most 255 levels: data_errors names the depth
            payload, unwritable = None, str(exc)
        if payload is None or may_nest_deeper(payload, limits.max_json_depth + 1) or data_may_hold_control(payload):
            if data_errs := data_errors(index, data, limits.max_json_depth):
                errors.extend(data_errs)
                continue
        if meters and (rules := meters.get(event_type)) is not None and (value_errs := meter_errors(index, data, rules)):
            errors.extend(value_errs)
            continue
        if payload is None:  # not from a parsed body (orjson reads what it writes), but never a 500
            errors.append(FieldError(index, "data", f"cannot be written as JSON: {unwritable}"))
            continue
        # The payload contains the data, so only a payload over the limit needs the
        # data measured on its own: one serialisation per event instead of two.
        if len(payload) > max_data and len(data_bytes := dumps(data)) > max_data:
            errors.append(FieldError(index, "data", f"is {len(data_bytes)} bytes as JSON; "
                                     f"the limit is {max_data}"))
            continue
        types.append(event_type)
        if event_id in seen:
            duplicates += 1
            continue
        seen.add(event_id)
        subjects.append(subject)
        payloads.append(payload)
    if errors:
        bad = len({e.index for e in errors})
        raise IngestError(422, "invalid_events",
                          f"{bad} of {len(raw)} events are invalid; nothing was accepted", errors)
    return ValidatedRequest(subjects, payloads, duplicates, received, types)


_EMPTY: dict = {}


def _envelope_controls(index: int, fields: tuple[tuple[str, str | None], ...], errors: list[FieldError]) -> None:
    for name, value in fields:
        if value is not None and (reason := envelope_control_reason(value)) is not None:
            errors.append(FieldError(index, name, reason))
