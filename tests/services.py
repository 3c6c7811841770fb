"""Where each real service of a test session comes from.

Order, per service: an environment variable naming a running one; else a
testcontainers container where a Docker engine answers; else the local one that
infra/ starts (once per test session, stopped at the end if this session started it).
A missing prerequisite (Java, Maven, a taken port) fails with infra's message naming it.
"""

from __future__ import annotations

import os

__all__ = ["docker_engine_answers", "start_containers"]


def docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
        return True
    except Exception:  # noqa: BLE001 - no engine, no socket, no permission: all mean "no"
        return False


def start_containers() -> list:
    """Start containers for the services no environment variable names; set the variables."""
    started = []
    if not os.environ.get("METERLINE_KAFKA__BOOTSTRAP_SERVERS"):
        from testcontainers.kafka import KafkaContainer

        kafka = KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft()
        kafka.start()
        started.append(kafka)
        os.environ["METERLINE_KAFKA__BOOTSTRAP_SERVERS"] = kafka.get_bootstrap_server()
    if not os.environ.get("METERLINE_POSTGRES__URL"):
        from testcontainers.postgres import PostgresContainer

        postgres = PostgresContainer("postgres:17", driver=None)
        postgres.start()
        started.append(postgres)
        os.environ["METERLINE_POSTGRES__URL"] = postgres.get_connection_url()
    if not os.environ.get("METERLINE_CLICKHOUSE__URL"):
        from testcontainers.clickhouse import ClickHouseContainer

        clickhouse = ClickHouseContainer("clickhouse/clickhouse-server:25.8")
        clickhouse.start()
        started.append(clickhouse)
        host, port = clickhouse.get_container_host_ip(), clickhouse.get_exposed_port(8123)
        os.environ["METERLINE_CLICKHOUSE__URL"] = f"http://{clickhouse.username}:{clickhouse.password}@{host}:{port}"
    # localstripe and Prefect have no official modules; they run locally either way.
    return started
