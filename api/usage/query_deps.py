"""The readers of the usage query and the event view, and the watermark source: built
once per app on first use (the API starts and serves everything else without them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from warehouse.clickhouse.fine_usage import FineUsageReader

from .deps import opened_once
from .watermark import WatermarkSource

__all__ = ["FineUsageReaderDep", "WatermarkDep", "get_fine_usage_reader", "get_watermark_source"]


def get_fine_usage_reader(request: Request) -> FineUsageReader:
    return opened_once(request, "fine_usage_reader", request.app.state.wiring.open_fine_usage_reader)


def get_watermark_source(request: Request) -> WatermarkSource:
    state = request.app.state
    source = getattr(state, "watermark_source", None)
    if source is None:
        source = state.watermark_source = state.wiring.open_watermark_source(state.engine)
    return source


FineUsageReaderDep = Annotated[FineUsageReader, Depends(get_fine_usage_reader)]
WatermarkDep = Annotated[WatermarkSource, Depends(get_watermark_source)]
