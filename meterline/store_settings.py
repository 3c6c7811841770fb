"""The settings sections of the data stores and the payment provider (part of
meterline.settings, which re-exports them): Kafka, PostgreSQL, ClickHouse, Stripe.

Every URL left empty means "use the embedded service that `meterline infra up` starts";
set it and the same code talks to a real server or cluster instead.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, SecretStr

__all__ = ["KafkaSettings", "PostgresSettings", "ClickHouseSettings", "StripeSettings"]


class KafkaSettings(BaseModel):
    bootstrap_servers: str = ""  # empty: the embedded broker on `port`
    port: int = 19092
    controller_port: int = 19093
    events_topic: str = "meterline.events"
    events_partitions: int = 6
    dead_letter_topic: str = "meterline.dead-letters"
    replication_factor: int = 1
    heap: str = "768m"

    @property
    def bootstrap(self) -> str:
        """The configured brokers, else the embedded one."""
        return self.bootstrap_servers or f"127.0.0.1:{self.port}"


class PostgresSettings(BaseModel):
    url: str = ""  # empty: embedded PostgreSQL under the run directory
    pool_size: int = 10


class ClickHouseSettings(BaseModel):
    # Empty: chDB in <run_dir>/clickhouse, owned by the embedded-ClickHouse host that
    # `infra up` starts on `port` (see infra/README.md). A server: http://user:password@host:8123
    url: str = ""
    database: str = "meterline"
    port: int = 8124  # the host's loopback port (not 8123: a real server may be there)
    # The host's secret (warehouse/clickhouse/host_secret.py). Empty: <run_dir>/clickhouse-host/secret;
    # set it for a process with a run directory of its own that uses a shared host.
    host_secret_file: str = ""

    @property
    def is_embedded(self) -> bool:
        return not self.url

    @property
    def host_url(self) -> str:
        """The embedded-ClickHouse host's address."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def host_secret_path(self) -> Path:
        """The host's secret file (Settings fills in the default from the run directory)."""
        if not self.host_secret_file:
            raise RuntimeError("clickhouse.host_secret_file is not resolved: build the section through Settings")
        return Path(self.host_secret_file)


class StripeSettings(BaseModel):
    api_key: SecretStr = SecretStr("sk_test_meterline_local")
    api_base: str = ""  # empty: the embedded localstripe on `port`
    port: int = 8420
    webhook_secret: SecretStr = SecretStr("whsec_meterline_local")
    max_network_retries: int = 2

    @property
    def effective_api_base(self) -> str:
        """The configured API base, else the embedded localstripe's."""
        return self.api_base or f"http://127.0.0.1:{self.port}"

    @property
    def is_local(self) -> bool:
        return not self.api_base
