"""What the stores can hold: text without control characters, bounded nesting, bounded values.

Pure functions, shared by both validation paths (``ingest.schemas``, ``ingest.schemas_fast``),
so that they refuse exactly the same events (422 naming index, field and reason). An event
that passes here can be written by every sink: one that cannot would stop the stream.

Text. PostgreSQL's text and jsonb cannot hold U+0000 at all, and other control characters
in identifiers or group labels break logs, CSV exports and invoices.

- ``id``, ``subject``, ``type``, ``source``: every control character (Unicode Cc: U+0000 to
  U+001F and U+007F to U+009F) is refused, tab and newline included: identifiers have no
  use for them.
- Strings inside ``data`` (keys and values, at any depth): the same, except tab, line feed
  and carriage return, which free text in ``data`` (a message, a prompt) may carry.
- A meter's group-by values and UNIQUE_COUNT values become labels: there every control
  character is refused, tab and newlines too.

Nesting. ``data`` (level 1) may nest objects and arrays ``max_depth`` levels deep.

Numeric meter values (every aggregation but COUNT and UNIQUE_COUNT, at the meter's ``value_path``): a finite number with
``|value| <= 10^15`` and at most 9 decimal places. ClickHouse keeps quantities as
Decimal128(9) (below 10^29 in magnitude, 9 places) and PostgreSQL as numeric. A window
sum is at most 10^15 times its number of events; at 10^6 events/s (20 times the default
per-tenant rate limit) a year holds 3.2 * 10^13 events, so even a year-long sum stays
below 3.2 * 10^28 < 10^29. More than 9 decimal places would be rounded by ClickHouse but
not by PostgreSQL, and the two stores would disagree. A negative value is refused unless
every meter reading that path allows negatives (``meter.allow_negative``): a tenant
lowers its invoice only where a meter says it may. A missing or non-numeric value is not
refused here: the stream dead-letters it with its reason, as before.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from metering import aggregation_for

from .errors import FieldError

__all__ = ["MAX_ABS_VALUE", "MAX_DECIMAL_PLACES", "MeterRules", "TypeRules", "ValueRule", "data_errors",
           "data_may_hold_control", "envelope_control_reason", "may_nest_deeper", "meter_errors", "rules_of",
           "text_may_hold_control"]

MAX_ABS_VALUE = 10**15
MAX_DECIMAL_PLACES = 9
_PLACES = Decimal(1).scaleb(-MAX_DECIMAL_PLACES)

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_DATA_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, LF, CR allowed
# A control character in JSON text is either escaped (\u00XX, \b, \f, \n, \r, \t) or, for
# DEL and C1 (U+0080..U+009F), raw: 0x7F or UTF-8 C2 80..C2 9F. A raw 0x7F can only be
# inside a string (JSON allows nothing else there), so it is one.
_RAW_C1 = re.compile(rb"\xc2[\x80-\x9f]")


@dataclass(frozen=True)
class ValueRule:
    """A numeric meter value path of an event type."""

    path: str
    parts: tuple[str, ...]
    allow_negative: bool


@dataclass(frozen=True)
class TypeRules:
    values: tuple[ValueRule, ...]  # numeric value paths (SUM, MAX, MIN, AVG, LATEST)
    labels: tuple[tuple[str, tuple[str, ...]], ...]  # group-by and UNIQUE_COUNT paths (strict text), split


MeterRules = Mapping[str, TypeRules]  # event type -> what its meters read


def rules_of(meters: Iterable[tuple[str, str, str | None, Iterable[str], bool]]) -> dict[str, TypeRules]:
    """(event_type, aggregation, value_path, group_by, allow_negative) per meter -> rules by event type.

    A path read by several meters allows negatives only if all of them do."""
    negatives: dict[str, dict[str, bool]] = {}
    labels: dict[str, set[str]] = {}
    for event_type, aggregation, value_path, group_by, allow_negative in meters:
        type_labels = labels.setdefault(event_type, set())
        type_labels.update(group_by)
        type_values = negatives.setdefault(event_type, {})
        kind = aggregation_for(aggregation)
        if not value_path or not kind.needs_value:
            continue
        if kind.reads_text:
            type_labels.add(value_path)
        else:
            type_values[value_path] = type_values.get(value_path, True) and allow_negative
    return {t: TypeRules(tuple(ValueRule(p, tuple(p.split(".")), negatives[t][p]) for p in sorted(negatives[t])),
                         tuple((p, tuple(p.split("."))) for p in sorted(labels[t])))
            for t in negatives if negatives[t] or labels[t]}


def _control_reason(text: str, pattern: re.Pattern) -> str | None:
    found = pattern.search(text)
    return None if found is None else f"contains the control character U+{ord(found.group()):04X}"


def envelope_control_reason(value: str) -> str | None:
    """Why an ``id``, ``subject``, ``type`` or ``source`` cannot be stored, or None."""
    reason = _control_reason(value, _CONTROL)
    return None if reason is None else reason + "; control characters are refused in event attributes"


def may_nest_deeper(raw: bytes, max_depth: int) -> bool:
    """False when the JSON text surely nests at most ``max_depth`` levels (brackets inside
    strings count too: an overestimate). One C scan per bracket."""
    return raw.count(b"{") + raw.count(b"[") > max_depth


def text_may_hold_control(body: bytes) -> bool:
    """False when no string anywhere in this JSON text can hold a control character.

    Three single-byte scans (memchr: microseconds for a megabyte), where a regex over the
    body cost a millisecond per 180 kB; a True only means "look at each event"."""
    return b"\\" in body or b"\x7f" in body or b"\xc2" in body


def data_may_hold_control(raw: bytes) -> bool:
    """Whether a string in the JSON text of ``data`` holds a control character refused
    there (all but tab, LF, CR). Exact for valid JSON text."""
    # find, not "in": per short event "in" (the buffer protocol) took twice as long.
    if raw.find(b"\x7f") >= 0 or (raw.find(b"\xc2") >= 0 and _RAW_C1.search(raw) is not None):
        return True
    return raw.find(b"\\") >= 0 and _escapes_control(raw)


def _escapes_control(raw: bytes) -> bool:
    # Escape by escape (few per event), skipping "\\\\" as a pair, so that an escaped
    # backslash before "n" is not taken for a newline.
    find = raw.find
    i = find(b"\\")
    while i >= 0:
        kind = raw[i + 1]
        if kind == 0x75:  # \uXXXX
            if raw[i + 2:i + 4] == b"00":
                code = int(raw[i + 4:i + 6], 16)
                if (code < 0x20 or 0x7F <= code <= 0x9F) and code not in (0x09, 0x0A, 0x0D):
                    return True
            i = find(b"\\", i + 6)
        else:
            if kind in (0x62, 0x66):  # \b, \f
                return True
            i = find(b"\\", i + 2)
    return False


def data_errors(index: int, data: Any, max_depth: int) -> list[FieldError]:
    """Each string in ``data`` holding a refused control character, or ``data`` nesting too deep.

    Iterative, so that no nesting can exhaust the interpreter's stack."""
    errors: list[FieldError] = []
    queue: deque[tuple[Any, str, int]] = deque([(data, "data", 1)])  # breadth first: errors in key order
    while queue:
        node, path, depth = queue.popleft()
        if isinstance(node, str):
            if (reason := _control_reason(node, _DATA_CONTROL)) is not None:
                errors.append(FieldError(index, path, reason + "; in data only tab, LF and CR are allowed"))
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > max_depth:
            return [FieldError(index, "data", f"nests objects and arrays more than {max_depth} levels deep")]
        if isinstance(node, dict):
            for key, child in node.items():
                if (reason := _control_reason(key, _DATA_CONTROL)) is not None:
                    errors.append(FieldError(index, path, f"the key {key!r} {reason}"))
                queue.append((child, f"{path}.{key}", depth + 1))
        else:
            queue.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(node))
    return errors


_MISSING = object()


def _lookup(data: Any, parts: tuple[str, ...]) -> Any:
    node = data
    for part in parts:
        if not isinstance(node, dict):
            return _MISSING
        node = node.get(part, _MISSING)
        if node is _MISSING:
            return _MISSING
    return node


def meter_errors(index: int, data: Any, rules: TypeRules, check_labels: bool = True) -> list[FieldError]:
    """The event's meter values outside the range, negative where not allowed, or labels with controls.

    ``check_labels=False`` when the event's JSON text is known to hold no control character."""
    errors: list[FieldError] = []
    for rule in rules.values:
        parts = rule.parts
        node = data.get(parts[0], _MISSING) if len(parts) == 1 and type(data) is dict else _lookup(data, parts)
        if type(node) is int and -MAX_ABS_VALUE <= node <= MAX_ABS_VALUE:  # the common case, no Decimal
            reason = None if node >= 0 or rule.allow_negative else _NEGATIVE
        elif isinstance(node, (int, float, str)) and not isinstance(node, bool):
            reason = _value_reason(node, rule.allow_negative)
        else:
            reason = None  # missing or not a number: the stream dead-letters it, with its reason
        if reason is not None:
            errors.append(FieldError(index, f"data.{rule.path}", reason))
    for path, parts in rules.labels if check_labels else ():
        node = _lookup(data, parts)
        if type(node) is str and not node.isprintable() and (reason := _control_reason(node, _CONTROL)) is not None:
            errors.append(FieldError(index, f"data.{path}", reason + "; a meter groups or counts by this value, "
                                     "where every control character is refused"))
    return errors


_NEGATIVE = "is negative; this meter does not allow negative values (allow_negative)"


def _value_reason(node: int | float | str, allow_negative: bool) -> str | None:
    try:
        value = Decimal(str(node))  # as the stream reads it (metering.extract_value)
    except InvalidOperation:
        return None  # not a number: the stream dead-letters it
    if not value.is_finite():
        return "is not a finite number"
    if abs(value) > MAX_ABS_VALUE:
        return "is outside the range of meter values, -10^15 to 10^15"
    if value.as_tuple().exponent < -MAX_DECIMAL_PLACES and value != value.quantize(_PLACES):
        return f"has more than {MAX_DECIMAL_PLACES} decimal places"
    if value < 0 and not allow_negative:
        return _NEGATIVE
    return None
