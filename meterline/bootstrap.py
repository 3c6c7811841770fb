"""The only place clients of external systems are built from the settings."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from meterline.settings import Settings

__all__ = ["api_app", "api_wiring", "build_flow_wiring", "flow_wiring", "ingest_app", "ingest_rsgi_worker_app",
           "ingest_worker_app", "mailer", "migrate", "pg_engine", "pg_sync_engine", "serve_api", "serve_clickhouse",
           "serve_flows", "serve_ingest", "serve_stream", "stripe_gateway", "usage_reconciler", "webhook_sender",
           "webhook_target_policy", "build_usage_reconciler", "operations_source", "prune_expired_records",
           "retention_policy", "purge_due_tenants"]

# The settings of `serve_ingest`, for its worker processes to rebuild.
_INGEST_SETTINGS_ENV = "_METERLINE_INGEST_SETTINGS_JSON"


def pg_sync_engine(settings: Settings) -> Engine:
    from warehouse.postgres.engine import create_sync_engine

    return create_sync_engine(settings.postgres_url)


def pg_engine(settings: Settings) -> AsyncEngine:
    from warehouse.postgres.engine import create_pg_engine

    return create_pg_engine(settings.postgres_url, settings.postgres.pool_size)


def migrate(settings: Settings) -> list[str]:
    """Bring the shared schema and every tenant schema to head."""
    from warehouse.migrations.runner import migrate_all

    engine = pg_sync_engine(settings)
    try:
        return migrate_all(engine)
    finally:
        engine.dispose()


def stripe_gateway(settings: Settings):
    from billing_jobs.stripe import StripeAdapter

    stripe = settings.stripe
    return StripeAdapter(stripe.api_key.get_secret_value(), stripe.effective_api_base, local=stripe.is_local)


def webhook_sender(settings: Settings):
    from billing_jobs.notify_adapter import HttpWebhookSender

    n = settings.notify
    return HttpWebhookSender(timeout_s=n.webhook_timeout_s, attempts=n.webhook_attempts,
                             backoff_initial_s=n.webhook_backoff_initial_s, backoff_max_s=n.webhook_backoff_max_s,
                             policy=webhook_target_policy(settings), max_redirects=n.max_redirects)


def webhook_target_policy(settings: Settings):
    from billing_jobs.outbound_targets import TargetPolicy

    return TargetPolicy(settings.notify.allow_private_targets, settings.notify.allowed_networks)


def mailer(settings: Settings):
    """The SMTP mailer, or None when no SMTP host is configured (emails stay in the outbox)."""
    if not settings.smtp.host:
        return None
    from billing_jobs.notify_adapter import SmtpMailer

    s = settings.smtp
    return SmtpMailer(host=s.host, port=s.port, sender=s.sender, username=s.username,
                      password=s.password.get_secret_value(), starttls=s.starttls, timeout_s=s.timeout_s)


def serve_stream(settings: Settings) -> None:
    """The stream worker, given its own sections and how to open its clients."""
    from stream.app import StreamClients, run
    from warehouse.clickhouse.client import open_clickhouse

    clients = StreamClients(open_postgres=functools.partial(pg_engine, settings),
                            open_clickhouse=functools.partial(open_clickhouse, settings.clickhouse),
                            clickhouse_database=settings.clickhouse.database)
    run(settings.stream, settings.kafka, clients, settings.run_dir / "stream")


def serve_clickhouse(settings: Settings) -> None:
    """The embedded-ClickHouse host, owner of the chDB directory under the run directory."""
    from warehouse.clickhouse.host import run

    run(settings.clickhouse, settings.run_dir / "clickhouse")


def api_wiring(settings: Settings):
    """The API's sections and clients: the Stripe gateway built once for the app (~8 ms of
    CPU each, for its TLS context), PostgreSQL and ClickHouse opened by the app when needed."""
    from api.usage.watermark import WatermarkSource
    from api.wiring import ApiWiring
    from warehouse.clickhouse.fine_usage import build_fine_usage_reader
    from warehouse.clickhouse.client import open_clickhouse
    from warehouse.clickhouse.usage_reader import ClickHouseUsageReader

    clickhouse = settings.clickhouse
    return ApiWiring(
        jwt=settings.jwt, limits=settings.api, webhook_targets=webhook_target_policy(settings),
        operator_token=settings.api.operator_token,
        stripe_webhook_secret=settings.stripe.webhook_secret,
        open_postgres=functools.partial(pg_engine, settings),
        open_usage_reader=lambda: ClickHouseUsageReader(open_clickhouse(clickhouse), clickhouse.database),
        open_fine_usage_reader=functools.partial(build_fine_usage_reader, clickhouse),
        open_watermark_source=functools.partial(WatermarkSource, settings.kafka, settings.stream.consumer_group),
        customer_registry=stripe_gateway(settings),
        open_invoice_runs=_once(lambda: _invoice_runs(settings)),
        usage_horizon=usage_horizon(settings),
        limit_thresholds=tuple(settings.notify.limit_thresholds),
        open_operations_source=functools.partial(operations_source, settings),
        web=web_app(settings),
    )


def usage_horizon(settings: Settings) -> timedelta:
    """How old an event can be and still be counted once: ingest refuses older ones, the
    stream dead-letters those beyond its dedup record."""
    return min(timedelta(seconds=settings.ingest.max_event_age_s), timedelta(days=settings.stream.dedup_horizon_days))


def operations_source(settings: Settings, engine: AsyncEngine):
    """The admin API's /metrics reader: Prefect's API for flow runs and the latest
    reconciliation, the app's PostgreSQL engine for issued invoices."""
    from api.metrics import OperationsSource
    from warehouse.postgres.operations import issued_invoice_totals
    from warehouse.prefect_api import PrefectRuns

    prefect = PrefectRuns(settings.prefect_api_url)

    async def invoices():
        async with engine.connect() as conn:
            return await issued_invoice_totals(conn)

    return OperationsSource(prefect.run_counts, prefect.latest_artifact, invoices, close=prefect.aclose)


def _invoice_runs(settings: Settings):
    from flows.invoice_runs import PrefectInvoiceRuns

    return PrefectInvoiceRuns(settings.prefect_api_url)



def web_app(settings: Settings):
    """The built web app the API serves at `/`, and the addresses it shows; None when disabled."""
    from api.web_app import WebApp

    web = settings.web
    if not web.enabled:
        return None
    ingest = web.public_ingest_url or f"http://{settings.ingest.host}:{settings.ingest.port}"
    prefect = web.public_prefect_url or settings.prefect.effective_api_url.removesuffix("/api")
    return WebApp(web.dist_dir, {"ingest_url": ingest, "prefect_url": prefect})


def api_app(settings: Settings):
    from api.app import create_app

    return create_app(api_wiring(settings))


def serve_api(settings: Settings) -> None:
    from api.app import run

    run(settings.api, api_app(settings))


def serve_flows(settings: Settings) -> None:
    from pathlib import Path

    # Before Prefect is imported: its logging (here and in each flow run process it starts) as JSON.
    os.environ.setdefault("PREFECT_LOGGING_CONFIG_PATH", str(Path(__file__).parents[1] / "flows" / "logging.yml"))
    from flows.serve import run

    run(settings.billing, settings.notify)


_T = TypeVar("_T")


def _once(build: Callable[[], _T]) -> Callable[[], _T]:
    """`build`, called on first use only (by one thread: the flows' tasks run in threads)."""
    built: list[_T] = []
    lock = threading.Lock()

    def get() -> _T:
        if not built:
            with lock:
                if not built:
                    built.append(build())
        return built[0]
    return get


def build_flow_wiring(settings: Settings):
    """The flows' sections and ports over one PostgreSQL engine, each built on first use:
    importing a flow module must not need PostgreSQL (deployments, unit tests)."""
    from flows.wiring import FlowWiring
    from warehouse.postgres.billing_dunning import PgDunningStore, tenant_ids
    from warehouse.postgres.billing_limits import PgLimitStore
    from warehouse.postgres.billing_notify import PgOutbox
    from warehouse.postgres.billing_run import PgInvoiceRunStore
    from warehouse.postgres.housekeeping import PgHousekeepingStore

    engine = _once(lambda: pg_sync_engine(settings))
    return FlowWiring(
        billing=settings.billing, notify=settings.notify,
        invoice_store=_once(lambda: PgInvoiceRunStore(engine())),
        dunning_store=_once(lambda: PgDunningStore(engine())),
        dunning_tenants=lambda: tenant_ids(engine()),
        limit_store=_once(lambda: PgLimitStore(engine())),
        outbox=_once(lambda: PgOutbox(engine())),
        gateway=_once(lambda: stripe_gateway(settings)),
        open_webhook_sender=lambda: webhook_sender(settings),
        mailer=_once(lambda: mailer(settings)),
        retention=retention_policy(settings),
        housekeeping_store=_once(lambda: PgHousekeepingStore(engine(), settings.housekeeping.batch_rows)),
    )


@functools.lru_cache(maxsize=1)
def flow_wiring():
    """The flows' wiring in this process, from the environment's settings. Flows run in a
    Prefect worker that imports their module, so the root is asked from there, once
    (`flow_wiring.cache_clear()` rebuilds it after the environment changed)."""
    return build_flow_wiring(Settings())


def build_usage_reconciler(settings: Settings):
    """The `reconcile-usage` flow's engine and ClickHouse client, for one run (its event loop)."""
    from datetime import timedelta

    from stream.reconcile import UsageReconciler
    from warehouse.clickhouse.client import open_clickhouse
    from warehouse.clickhouse.reconcile_store import ClickHouseReconcileStore

    clickhouse = ClickHouseReconcileStore(open_clickhouse(settings.clickhouse), settings.clickhouse.database)
    return UsageReconciler(pg_engine(settings), clickhouse, timedelta(days=settings.stream.dedup_horizon_days))


def usage_reconciler():
    """`build_usage_reconciler` from the environment's settings (as `flow_wiring`)."""
    return build_usage_reconciler(Settings())


def ingest_app(settings: Settings, processes: int = 1):
    """One ingest server process's app: its sections and how to open PostgreSQL."""
    from ingest.app import create_app

    return create_app(settings.ingest, settings.kafka, functools.partial(pg_engine, settings), processes)


def serve_ingest(settings: Settings) -> None:
    from ingest.app import run

    # Worker processes rebuild the settings from this JSON (secrets are not in it; ingest needs none).
    os.environ[_INGEST_SETTINGS_ENV] = settings.model_dump_json()
    run(settings.ingest, settings.run_dir / "ingest-metrics",
        asgi_factory="meterline.bootstrap:ingest_worker_app", rsgi_factory="meterline.bootstrap:ingest_rsgi_worker_app")


def ingest_worker_app():
    """The ASGI app of one of several uvicorn processes (uvicorn imports it by name)."""
    from ingest.app import worker_processes

    return ingest_app(Settings.model_validate_json(os.environ[_INGEST_SETTINGS_ENV]), processes=worker_processes())


def ingest_rsgi_worker_app():
    """The RSGI app of one granian worker process (granian imports it by name)."""
    from ingest.rsgi import RsgiIngest

    return RsgiIngest(ingest_worker_app())


async def create_operator_account(settings: Settings, email: str, password: str, role: str):
    """An operator account straight in PostgreSQL (the terminal's bootstrap); None if the email is taken."""
    from api.auth import hash_password
    from warehouse.postgres.database import ConstraintViolation, Database
    from warehouse.postgres.operators import insert_operator

    engine = pg_engine(settings)
    try:
        async with Database(engine).begin() as conn:
            return await insert_operator(conn, email=email, password_hash=hash_password(password), role=role)
    except ConstraintViolation:
        return None
    finally:
        await engine.dispose()


def retention_policy(settings: Settings):
    """settings.housekeeping as the housekeeping rules take it (billing_jobs.housekeeping)."""
    from billing_jobs.housekeeping import RetentionPolicy

    section = settings.housekeeping
    return RetentionPolicy(refresh_token_grace=timedelta(days=section.refresh_token_grace_days),
                           session_retention=timedelta(days=section.session_retention_days),
                           invitation_retention=timedelta(days=section.invitation_retention_days))


def prune_expired_records(settings: Settings, now):
    """The housekeeping prune (billing_jobs.housekeeping) over PostgreSQL, once, for the CLI."""
    from billing_jobs.housekeeping import prune_expired
    from warehouse.postgres.housekeeping import PgHousekeepingStore

    engine = pg_sync_engine(settings)
    try:
        store = PgHousekeepingStore(engine, settings.housekeeping.batch_rows)
        return prune_expired(store=store, policy=retention_policy(settings), now=now)
    finally:
        engine.dispose()


def purge_due_tenants(settings: Settings, now):
    """The purge job (billing_jobs.tenant_purge) over PostgreSQL, ClickHouse and Stripe, for a flow or the CLI."""
    from billing_jobs.tenant_purge import purge_due_tenants as purge
    from warehouse.clickhouse.client import open_clickhouse
    from warehouse.clickhouse.tenant_erasure import ClickHouseTenantEraser
    from warehouse.postgres.tenant_purge import PgTenantPurgeStore

    engine = pg_sync_engine(settings)
    clickhouse = open_clickhouse(settings.clickhouse)
    try:
        store = PgTenantPurgeStore(engine, settings.billing.invoice_retention_years)
        analytics = ClickHouseTenantEraser(clickhouse, settings.clickhouse.database)
        return purge(store=store, customers=stripe_gateway(settings), analytics=analytics, now=now)
    finally:
        clickhouse.close()
        engine.dispose()
