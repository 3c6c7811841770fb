"""One class per aggregation and the registry that maps a meter's aggregation name to it.

Everything that depends on what a meter aggregates asks its class (`aggregation_for`);
adding an aggregation is a class here plus the migration that lets the meter table
accept its name."""

from __future__ import annotations

from typing import Literal

from .additive import Count, Sum
from .average import Average
from .base import DELTA, RESTATE, MeterAggregation, PeriodTotal
from .extremes import Max, Min
from .latest import Latest
from .unique import UniqueCount

__all__ = ["AGGREGATIONS", "ADDITIVE", "Aggregation", "DELTA", "RESTATE", "MeterAggregation", "PeriodTotal",
           "UnknownAggregation", "aggregation_for", "registered"]

_REGISTRY: dict[str, MeterAggregation] = {kind.name: kind for kind in (
    Count(), Sum(), Max(), UniqueCount(), Latest(), Min(), Average())}

AGGREGATIONS: tuple[str, ...] = tuple(_REGISTRY)
# The meter definition's type: pydantic models and the OpenAPI document take it from here.
Aggregation = Literal[AGGREGATIONS]  # type: ignore[valid-type]
ADDITIVE = frozenset(name for name, kind in _REGISTRY.items() if kind.additive)


class UnknownAggregation(ValueError):
    def __init__(self, name: object) -> None:
        super().__init__(f"unknown aggregation {name!r}; known: {', '.join(AGGREGATIONS)}")
        self.name = name


def aggregation_for(name: str) -> MeterAggregation:
    """The class of a meter's aggregation; refuses a name no class answers to."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownAggregation(name) from None


def registered() -> tuple[MeterAggregation, ...]:
    return tuple(_REGISTRY.values())
