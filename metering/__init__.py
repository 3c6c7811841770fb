"""The metering domain: events, meters, and how usage aggregates. Pure: imports no
framework, driver or other package of the project, so every layer may import it."""

from .aggregate import AggregationResult, DeadLetter, UsageDelta, aggregate, combine_total, period_total
from .aggregations import (
    ADDITIVE, AGGREGATIONS, DELTA, RESTATE, Aggregation, MeterAggregation, PeriodTotal, UnknownAggregation,
    aggregation_for,
)
from .event import UsageEvent, parse_event_time
from .storable import STORABLE_QUANTITY, storable_quantity
from .meter import (
    NO_GROUP, RESOLUTION_STEP, RESOLUTIONS, STORED_RESOLUTIONS, InvalidMeterValue, Meter, Resolution,
    WindowKey, extract_property, extract_value, group_key, group_values, hour_window, window_start,
)

__all__ = ["Meter", "UsageEvent", "WindowKey", "UsageDelta", "DeadLetter", "AggregationResult", "Aggregation",
           "Resolution", "AGGREGATIONS", "RESOLUTIONS", "STORED_RESOLUTIONS", "extract_value", "extract_property",
           "group_values", "group_key", "hour_window", "window_start", "aggregate", "InvalidMeterValue", "parse_event_time",
           "combine_total", "NO_GROUP", "RESOLUTION_STEP", "period_total", "aggregation_for", "MeterAggregation",
           "PeriodTotal", "UnknownAggregation", "ADDITIVE", "DELTA", "RESTATE", "STORABLE_QUANTITY",
           "storable_quantity"]
