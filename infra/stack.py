"""`meterline infra up|down|status`: the real services on one machine, no Docker engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from meterline.settings import Settings

from . import kafka, postgres
from .clickhouse import check_clickhouse, clickhouse_host_process
from .localstripe import localstripe_process
from .prefect_server import prefect_process
from .processes import InfraError

__all__ = ["infra_up", "infra_down", "infra_status", "ServiceStatus"]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str  # "running" | "stopped" | "external"
    detail: str


def _up_kafka(settings: Settings) -> str:
    if settings.kafka.bootstrap_servers:
        return f"external broker {settings.kafka.bootstrap_servers}"
    kafka.prepare_kafka(settings)
    kafka.kafka_process(settings).start()
    created = kafka.create_topics(settings)
    return f"127.0.0.1:{settings.kafka.port}" + (f", created {', '.join(created)}" if created else "")


def _up_postgres(settings: Settings) -> str:
    if settings.postgres.url:
        return "external server"
    return postgres.start_embedded_postgres(settings)


def _up_stripe(settings: Settings) -> str:
    if not settings.stripe_is_local:
        return f"external API {settings.stripe.api_base}"
    localstripe_process(settings).start()
    return settings.stripe_api_base


def _up_prefect(settings: Settings) -> str:
    if settings.prefect.api_url:
        return f"external server {settings.prefect.api_url}"
    prefect_process(settings).start()
    return f"http://127.0.0.1:{settings.prefect.port}"


_STARTERS: list[tuple[str, Callable[[Settings], str]]] = [
    ("kafka", _up_kafka),
    ("postgres", _up_postgres),
    ("clickhouse", check_clickhouse),
    ("stripe", _up_stripe),
    ("prefect", _up_prefect),
]


def infra_up(settings: Settings, only: set[str] | None = None, report: Callable[[str], None] = print) -> None:
    """Start every embedded service that is not running yet and wait until each answers."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    for name, start in _STARTERS:
        if only is not None and name not in only:
            continue
        try:
            report(f"{name:<11} ready: {start(settings)}")
        except InfraError:
            raise
        except Exception as exc:  # noqa: BLE001 - always say which service failed
            raise InfraError(f"{name}: {type(exc).__name__}: {exc}") from exc


def infra_down(settings: Settings, report: Callable[[str], None] = print) -> None:
    """Stop only what `infra_up` started (pid files under the run directory)."""
    stopped = {
        "prefect": prefect_process(settings).stop(),
        "stripe": localstripe_process(settings).stop(),
        "clickhouse": clickhouse_host_process(settings).stop(),
        "postgres": postgres.stop_embedded_postgres(settings),
        "kafka": kafka.kafka_process(settings).stop(),
    }
    for name, was_running in stopped.items():
        report(f"{name:<11} {'stopped' if was_running else 'was not running'}")


def infra_status(settings: Settings) -> list[ServiceStatus]:
    def managed(name: str, external: str, running: bool, detail: str) -> ServiceStatus:
        if external:
            return ServiceStatus(name, "external", external)
        return ServiceStatus(name, "running" if running else "stopped", detail)

    pg_uri = postgres.embedded_postgres_status(settings)
    return [
        managed("kafka", settings.kafka.bootstrap_servers, kafka.kafka_process(settings).is_running(), settings.kafka_bootstrap),
        managed("postgres", settings.postgres.url, pg_uri is not None, pg_uri or ""),
        managed("clickhouse", settings.clickhouse.url, clickhouse_host_process(settings).is_running(),
                f"{settings.clickhouse_dsn} at {settings.clickhouse_host_url}"),
        managed("stripe", "" if settings.stripe_is_local else settings.stripe.api_base,
                localstripe_process(settings).is_running(), settings.stripe_api_base),
        managed("prefect", settings.prefect.api_url, prefect_process(settings).is_running(), settings.prefect_api_url),
    ]
