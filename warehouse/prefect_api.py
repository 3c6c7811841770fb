"""The Prefect server's REST API, as the admin API's /metrics reads it: flow runs by flow
and final state, each flow's last successful run, and the latest artifact of a key.

Counts come from Prefect's own database at scrape time: flows are short-lived processes
that no Prometheus could scrape, and Prefect already records every run. A run deleted
from Prefect (its retention) leaves the counts: the counter then goes down, which
Prometheus' increase() reads as a reset.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
import orjson

__all__ = ["FINAL_STATES", "PrefectRuns"]

# Final states a run ends in (Prefect's state types), as the metric's `state` label.
FINAL_STATES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


class PrefectRuns:
    def __init__(self, api_url: str, timeout_s: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=api_url.rstrip("/") + "/", timeout=timeout_s)

    async def _post(self, path: str, body: dict):
        response = await self._client.post(path, json=body)
        response.raise_for_status()
        return response.json()

    async def flow_names(self) -> dict[str, str]:
        return {flow["id"]: flow["name"] for flow in await self._post("flows/filter", {})}

    async def _count(self, flow_id: str, state: str) -> int:
        return int(await self._post("flow_runs/count", {
            "flows": {"id": {"any_": [flow_id]}}, "flow_runs": {"state": {"type": {"any_": [state]}}}}))

    async def _last_success(self, flow_id: str) -> float | None:
        runs = await self._post("flow_runs/filter", {
            "flows": {"id": {"any_": [flow_id]}}, "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
            "sort": "END_TIME_DESC", "limit": 1})
        ended = runs[0].get("end_time") if runs else None
        return datetime.fromisoformat(ended).timestamp() if ended else None

    async def run_counts(self) -> tuple[dict[tuple[str, str], int], dict[str, float]]:
        """Runs per (flow name, final state), and each flow's last successful end (epoch seconds)."""
        flows = await self.flow_names()
        pairs = [(flow_id, state) for flow_id in flows for state in FINAL_STATES]
        counts = await asyncio.gather(*(self._count(flow_id, state) for flow_id, state in pairs))
        successes = await asyncio.gather(*(self._last_success(flow_id) for flow_id in flows))
        return ({(flows[flow_id], state): n for (flow_id, state), n in zip(pairs, counts)},
                {flows[flow_id]: at for flow_id, at in zip(flows, successes) if at is not None})

    async def latest_artifact(self, key: str) -> tuple[object, float] | None:
        """The data of the latest artifact of `key` and when it was made (epoch seconds)."""
        found = await self._post("artifacts/latest/filter", {"artifacts": {"key": {"any_": [key]}}, "limit": 1})
        if not found:
            return None
        data = found[0].get("data")
        if isinstance(data, str):
            try:
                data = orjson.loads(data)
            except orjson.JSONDecodeError:
                pass
        return data, datetime.fromisoformat(found[0]["created"]).timestamp()

    async def aclose(self) -> None:
        await self._client.aclose()
