"""Invoice runs as flow runs of the "generate-invoices/monthly" deployment, through Prefect's
client: started from the operators' API (so each appears in the Prefect UI) and listed with
their state and the per-tenant rows of their table artifact (flows/invoicing.py publishes it).

The one place outside flows/serve.py that talks to the Prefect server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import (
    ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterType, DeploymentFilter, DeploymentFilterId, FlowFilter,
    FlowFilterId, FlowRunFilter, FlowRunFilterExpectedStartTime, FlowRunFilterId,
)
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound

from .deployments import INVOICES_DEPLOYMENT

__all__ = ["InvoiceRun", "InvoiceRunsUnavailable", "PrefectInvoiceRuns", "RecentFlowRun"]


class InvoiceRunsUnavailable(RuntimeError):
    """Prefect does not answer, or the invoice deployment is not served."""


@dataclass(frozen=True)
class InvoiceRun:
    id: UUID
    name: str
    state: str  # Prefect's state name: Scheduled, Pending, Running, Completed, Failed...
    state_type: str  # SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED, CANCELLED...
    created_at: datetime | None
    parameters: dict[str, Any]
    ui_url: str
    deployment_url: str
    outcomes: list[dict[str, str]] | None  # the table artifact's rows; None until published
    summary: str | None  # the markdown summary


@dataclass(frozen=True)
class RecentFlowRun:
    """A flow run of any of Meterline's flows, for the operators' pipeline view."""
    flow: str
    name: str
    state: str
    state_type: str
    started_at: datetime | None  # None: not started yet
    ui_url: str


class PrefectInvoiceRuns:
    def __init__(self, api_url: str) -> None:
        self.api_url = api_url.rstrip("/")
        # The UI is served beside the API (`prefect server start`): /api -> the UI's root.
        self.ui_url = self.api_url.removesuffix("/api")

    def flow_run_url(self, run_id: UUID) -> str:
        return f"{self.ui_url}/runs/flow-run/{run_id}"

    def deployment_url(self, deployment_id: UUID) -> str:
        return f"{self.ui_url}/deployments/deployment/{deployment_id}"

    async def deployment_id(self, client: PrefectClient) -> UUID:
        try:
            return (await client.read_deployment_by_name(INVOICES_DEPLOYMENT)).id
        except ObjectNotFound:
            raise InvoiceRunsUnavailable(f"the deployment {INVOICES_DEPLOYMENT} is not served "
                                         f"(`meterline stack up` serves it)") from None

    async def start(self, parameters: dict[str, Any]) -> InvoiceRun:
        """A flow run of the invoice deployment with these parameters; the served runner picks it up."""
        async with self._client() as client:
            run = await client.create_flow_run_from_deployment(await self.deployment_id(client),
                                                               parameters=parameters, tags=["invoice-run-api"])
            return self._run(run, {})

    async def list(self, limit: int) -> list[InvoiceRun]:
        """The latest runs (manual and scheduled ones that came due), newest first, with their reports."""
        async with self._client() as client:
            deployment_id = await self.deployment_id(client)
            # Upcoming scheduled runs are the schedule's, not runs anyone started: left out.
            due = FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(
                before_=datetime.now(timezone.utc) + timedelta(minutes=1)))
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
                flow_run_filter=due, sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=limit)
            return [self._run(run, artifacts) for run, artifacts in zip(runs, await self._artifacts(client, runs))]

    async def get(self, run_id: UUID) -> InvoiceRun | None:
        async with self._client() as client:
            deployment_id = await self.deployment_id(client)
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])), limit=1)
            if not runs:
                return None
            [artifacts] = await self._artifacts(client, runs)
            return self._run(runs[0], artifacts)

    async def recent(self, limit: int) -> list[RecentFlowRun]:
        """The latest runs of every flow that came due (scheduled ones still ahead left out), newest first."""
        async with self._client() as client:
            due = FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(
                before_=datetime.now(timezone.utc) + timedelta(minutes=1)))
            runs = await client.read_flow_runs(flow_run_filter=due, sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                                               limit=limit)
            flows = {flow.id: flow.name for flow in await client.read_flows(
                flow_filter=FlowFilter(id=FlowFilterId(any_=list({run.flow_id for run in runs}))))} if runs else {}
        return [RecentFlowRun(flows.get(run.flow_id, str(run.flow_id)), run.name,
                              run.state.name if run.state else "Unknown",
                              run.state.type.value if run.state else "UNKNOWN", run.start_time,
                              self.flow_run_url(run.id)) for run in runs]

    async def _artifacts(self, client: PrefectClient, runs: list) -> list[dict[str, Any]]:
        """Per run, {"table": rows, "markdown": summary} from its artifacts."""
        if not runs:
            return []
        artifacts = await client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[run.id for run in runs]),
            type=ArtifactFilterType(any_=["table", "markdown"])))
        by_run: dict[UUID, dict[str, Any]] = {run.id: {} for run in runs}
        for artifact in artifacts:
            data = artifact.data
            by_run[artifact.flow_run_id][artifact.type] = json.loads(data) if artifact.type == "table" else data
        return [by_run[run.id] for run in runs]

    def _run(self, run, artifacts: dict[str, Any]) -> InvoiceRun:
        state = run.state
        return InvoiceRun(id=run.id, name=run.name, state=state.name if state else "Unknown",
                          state_type=state.type.value if state else "UNKNOWN", created_at=run.created,
                          parameters=dict(run.parameters), ui_url=self.flow_run_url(run.id),
                          deployment_url=self.deployment_url(run.deployment_id),
                          outcomes=artifacts.get("table"), summary=artifacts.get("markdown"))

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[PrefectClient]:
        try:
            async with PrefectClient(self.api_url) as client:
                yield client
        except httpx.HTTPError as exc:  # refused, timed out, or a 5xx of Prefect's
            raise InvoiceRunsUnavailable(f"Prefect at {self.api_url} does not answer: {exc}") from exc
