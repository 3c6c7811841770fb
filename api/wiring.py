"""What the API is given by the composition root (meterline/bootstrap.py): its own
settings sections and its clients, each built there once, so no module of api/ reads
the whole Settings or builds a client itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from meterline.settings import ApiSettings, JwtSettings

if TYPE_CHECKING:  # annotations only
    from billing_jobs.outbound_targets import TargetPolicy
    from flows.invoice_runs import PrefectInvoiceRuns
    from warehouse.clickhouse.fine_usage import FineUsageReader

    from .metrics import OperationsSource
    from .usage.watermark import WatermarkSource
    from .web_app import WebApp
    from .tenants.service import CustomerRegistry
    from .usage.service import UsageReader

__all__ = ["ApiWiring"]


@dataclass(frozen=True)
class ApiWiring:
    jwt: JwtSettings
    # The API's own section: login, registration and request-quota limits (api/abuse_policy.py).
    limits: ApiSettings
    # Which webhook targets a tenant may register (public addresses unless settings allow more).
    webhook_targets: TargetPolicy
    operator_token: SecretStr
    stripe_webhook_secret: SecretStr
    # The PostgreSQL engine, opened by the app's lifespan (and disposed by it).
    open_postgres: Callable[[], Any]
    # The analytics store's reader, opened on first use: the API serves everything else without it.
    open_usage_reader: Callable[[], UsageReader]
    # The usage query's and event view's raw-event reader, opened on first use.
    open_fine_usage_reader: Callable[[], FineUsageReader]
    # The freshness watermark's source, given the app's PostgreSQL engine (it also reads Kafka).
    open_watermark_source: Callable[[Any], WatermarkSource]
    # The payment provider a registration creates the tenant's customer with (one for the app).
    customer_registry: CustomerRegistry
    # Invoice runs as flow runs of the Prefect deployment, opened on first use (it imports Prefect).
    open_invoice_runs: Callable[[], PrefectInvoiceRuns]
    # How far back usage can still arrive and be deduplicated: the younger of ingest's
    # event age limit and the stream's dedup horizon. A migrated subscription starts within it.
    usage_horizon: timedelta = timedelta(days=35)
    # The platform's limit-alert thresholds (settings notify), shown to tenants that chose none.
    limit_thresholds: tuple[int, ...] = (80, 100)
    # /metrics' reader of flow runs, invoices and reconciliation, given the app's PostgreSQL
    # engine (api/metrics/operations.py); None: /metrics reports the API's requests only.
    open_operations_source: Callable[[Any], OperationsSource] | None = None
    # The built web app served at `/` (api/web_app.py); None: the API alone.
    web: WebApp | None = None
