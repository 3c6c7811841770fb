"""The quantities every store can hold. Pure.

A window's quantity lives in PostgreSQL (numeric: up to 131,072 digits before the point)
and in ClickHouse (Decimal(38, 9): 29 digits before the point, 9 after). The narrower
one is the bound: |quantity| < 10^29. Ingest bounds each meter value far below it
(ingest/storable.py, ±10^15), but sums of many values, and records written to Kafka by
other producers, can still exceed it. The stream checks each window's sum as committed
against this bound: a window that would leave it refuses the event that tipped it over
(dead-lettered, never a stall), and keeps its last storable sum. A check rather than a
wider type: Decimal(76, 9) would slow every ClickHouse sum and still have a bound.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["STORABLE_QUANTITY", "storable_quantity"]

# Exclusive: ClickHouse Decimal(38, 9) holds 10^29 - 10^-9 at most.
STORABLE_QUANTITY = Decimal(10) ** 29


def storable_quantity(quantity: Decimal | int) -> bool:
    """Whether a window's quantity (a sum, a maximum, a value) fits every store."""
    return -STORABLE_QUANTITY < quantity < STORABLE_QUANTITY
