"""The one configuration object: every setting, read from the environment.

Variables are prefixed ``METERLINE_`` and nested with ``__``, e.g.
``METERLINE_KAFKA__BOOTSTRAP_SERVERS=broker:9092`` or
``METERLINE_POSTGRES__URL=postgresql://user:pw@db/meterline``. Every URL left empty
means "use the embedded service that `meterline infra up` starts under the run
directory"; set it and the same code talks to a real server or cluster instead.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The stores' sections live beside this module; importing them from here keeps one address.
from .store_settings import ClickHouseSettings, KafkaSettings, PostgresSettings, StripeSettings
from .web_settings import WebSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
_DEV_OPERATOR_TOKEN = "dev-only-operator-token"


class BillingSettings(BaseModel):
    """Dunning schedule, in whole days after an invoice is due (see billing_jobs.dunning)."""

    reminder_days: tuple[int, ...] = (3, 7, 14)
    past_due_days: int = 15
    suspend_days: int = 22  # past due + a 7-day grace period
    invoice_retention_years: int = Field(default=10, ge=1)  # after a purge (docs/operators.md)
    # Tenants a billing flow runs at once (threads), below the sync engine's pool (5 + 10 overflow).
    flow_concurrency: int = 12
    schedules_active: bool = True  # the served deployments' schedules run (off in tests: tests/conftest.py)


class SmtpSettings(BaseModel):
    """Email delivery. Empty host: no SMTP, emails stay in the outbox the API serves."""

    host: str = ""
    port: int = 25
    username: str = ""
    password: SecretStr = SecretStr("")
    sender: str = "billing@meterline.invalid"
    starttls: bool = False
    timeout_s: float = 10.0


class NotifySettings(BaseModel):
    """Limit alerts (billing_jobs.limits) and the delivery of the outbox."""

    limit_thresholds: tuple[int, ...] = (80, 100)  # percent of each plan limit
    limit_check_minutes: int = 5
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = 4  # per run, with exponential backoff between them
    webhook_backoff_initial_s: float = 0.5
    webhook_backoff_max_s: float = 8.0
    max_attempts: int = 10  # runs before a message is given up (it stays in the outbox)
    # Outbound webhooks go to public addresses only (loopback, private, link-local and
    # metadata addresses are refused after DNS and on every redirect: billing_jobs/outbound_targets.py).
    allow_private_targets: bool = False  # local development: receivers on 127.0.0.1
    allowed_networks: tuple[str, ...] = ()  # CIDRs allowed even so, e.g. an internal receiver
    max_redirects: int = 3


class PrefectSettings(BaseModel):
    api_url: str = ""  # empty: the embedded Prefect server on `port`
    port: int = 4200

    @property
    def effective_api_url(self) -> str:
        """The configured API URL, else the embedded server's."""
        return self.api_url or f"http://127.0.0.1:{self.port}/api"


class IngestSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    # granian (RSGI, HTTP parsed in Rust) by default; uvicorn (ASGI, httptools) for comparison.
    server: Literal["granian", "uvicorn"] = "granian"
    max_connections_per_process: int = 65_536  # open connections a granian worker accepts
    metrics_flush_s: float = 1.0  # how often a process publishes its metric tallies (ingest/metrics.py)
    max_events_per_request: int = 10_000
    max_body_bytes: int = 5 * 1024 * 1024
    produce_timeout_s: float = 5.0
    api_key_cache_ttl_s: float = 5.0
    meter_block_cache_ttl_s: float = 2.0  # how soon a hard-limit block (ingest/meter_blocks.py) is seen
    # Per-event limits (422 naming the event index and field).
    max_data_bytes: int = 64 * 1024  # `data` serialized as JSON
    max_id_length: int = 256  # `id` and `subject`
    max_string_length: int = 1024  # `source` and `type`
    max_event_age_s: float = 35 * 24 * 3600  # `time` no older than this
    max_event_future_s: float = 300.0  # `time` no further ahead than this
    max_json_depth: int = 32  # levels of objects and arrays in `data` (`data` itself is level 1)
    # Per-tenant rate limit: a token bucket of events.
    rate_limit_events_per_s: float = 50_000.0
    rate_limit_burst: int = 100_000
    # Load shedding: beyond these the answer is 503 at once, never a queue.
    max_in_flight_requests: int = 512
    max_in_flight_bytes: int = 128 * 1024 * 1024  # bodies plus records not yet acked
    retry_after_s: int = 1
    # Log every event's id at ingest and when the stream writes it, as if every request's
    # traceparent were sampled (meterline/tracing.py): for debugging, not for 30,000 events/s.
    trace_all_events: bool = False
    # Producer: a tenant's events packed per partition across requests (ingest/coalescing.py)
    max_pack_events: int = 500
    max_pack_bytes: int = 512 * 1024
    # {"<tenant uuid>": record keys}, for a tenant too big for one worker (ingest/packing.py)
    tenant_key_shards: dict[str, Annotated[int, Field(ge=0)]] = {}
    # No linger: aiokafka keeps one produce request in flight per broker (idempotence), so
    # records arriving meanwhile already wait and share the next request; a fixed linger
    # only added its 5 ms to every single event when the producer was idle (bench/README.md).
    linger_ms: int = 0
    producer_max_batch_bytes: int = 1024 * 1024
    producer_request_timeout_s: float = 30.0


class StreamSettings(BaseModel):
    consumer_group: str = "meterline-stream"
    batch_size: int = 500  # records per take; a take is cut into transactions (below)
    batch_window_s: float = 0.2
    # faust's web server: health, metrics, stream status and usage queries. Loopback by
    # default; 0.0.0.0 in a container, where probes and Prometheus come from outside.
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    meter_refresh_s: float = 5.0
    # Dedup record kept per tenant, by event time; events older than this are dead
    # letters (they could no longer be deduplicated). At least ingest's 35-day age limit.
    dedup_horizon_days: int = Field(default=40, ge=35)
    prune_interval_s: float = 600.0
    prune_chunk_rows: int = 5_000
    # A sink outage: retry the same batch with exponential backoff up to this wait.
    retry_max_wait_s: float = 10.0
    # Events a store refuses (not an outage): the batch is split to find them, and they
    # are dead-lettered. The longest another tenant's events wait for that; a part still
    # failing past it is dead-lettered whole (stream/isolation.py).
    poison_bound_s: float = Field(default=30.0, gt=0)
    # A worker that dies (SIGKILL, OOM) holds its partitions until the broker expires its
    # session: this bounds how long a restart or a surviving worker waits for them.
    session_timeout_s: float = 10.0
    heartbeat_interval_s: float = 3.0
    # Bounds of a transaction: memory and invisibility on any backlog (stream/transactions.py)
    max_transaction_events: int = Field(default=20_000, gt=0)
    max_transaction_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    # Transactions a worker has in flight at once, each over its own partitions of a take
    # (stream/lanes.py): while one waits on PostgreSQL or ClickHouse, the next one's Python
    # runs. 1 writes one transaction after the other.
    write_lanes: int = Field(default=2, ge=1, le=16)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    operator_token: SecretStr = SecretStr(_DEV_OPERATOR_TOKEN)
    # Abuse limits (README "Security"); counters live in PostgreSQL so every replica shares them.
    # Logins: after this many failures within the window, a lockout of `login_lockout_initial_s`
    # that doubles with each further failure, up to `login_lockout_max_s`.
    login_failures_per_account: int = 10
    login_failures_per_address: int = 50
    login_failure_window_s: int = 3600
    login_lockout_initial_s: int = 30
    login_lockout_max_s: int = 3600
    # Registrations (each creates a schema and a Stripe customer), per hour.
    registrations_per_address_per_hour: int = 5
    registrations_per_hour: int = 100  # all addresses together: a distributed flood stops here
    password_min_length: int = 10
    password_min_score: int = Field(default=3, ge=0, le=4)  # zxcvbn's 0 (guessable) .. 4
    # Requests per minute on tenant-scoped routes, per tenant by its plan's slug (else the
    # default), and per user (never more than its tenant's).
    requests_per_minute_by_plan: dict[str, int] = {}
    requests_per_minute_default: int = 600
    requests_per_minute_per_user: int = 300
    # A larger request body is answered 413 unread (api/http_guards.py); plans and webhook
    # events, the largest bodies, are a few kilobytes.
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    # Browser origins (scheme://host[:port]) allowed to call the API cross-origin; none by default.
    cors_origins: list[str] = []
    # /docs and /openapi.json; off where the API's shape is nobody else's business.
    docs_enabled: bool = True
    # Tenant deletion (docs/operators.md): export this recent, then a cancellable grace period.
    tenant_export_max_age_h: int = Field(default=24, ge=1)
    tenant_deletion_grace_days: int = Field(default=7, ge=0)
    # An invitation's single-use token expires this long after it is sent (api/users).
    invitation_hours: int = Field(default=72, gt=0)
    # Looking an invitation up by its token (anonymous), per client address per minute.
    invitation_previews_per_address_per_minute: int = Field(default=30, gt=0)


class JwtSettings(BaseModel):
    secret: SecretStr = SecretStr(_DEV_JWT_SECRET)
    algorithm: str = "HS256"
    access_token_minutes: int = Field(default=30, gt=0)
    # A refresh token lives this long from its issue; each use rotates it (api/sessions).
    refresh_token_days: int = Field(default=7, gt=0)


class HousekeepingSettings(BaseModel):
    """How long ended sign-in records are kept before the daily prune (billing_jobs.housekeeping)."""

    # After a used refresh token's expiry: reuse detection works at least until then.
    refresh_token_grace_days: int = Field(default=7, ge=0)
    session_retention_days: int = Field(default=30, ge=0)  # after its revocation or last token's expiry
    # After acceptance, withdrawal or expiry; meanwhile its preview answers 410, then 404.
    invitation_retention_days: int = Field(default=30, ge=0)
    batch_rows: int = Field(default=10_000, gt=0)  # rows per DELETE, each its own short transaction


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="METERLINE_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    environment: Literal["local", "test", "production"] = "local"
    run_dir: Path = Field(default=PROJECT_ROOT / ".run")

    kafka: KafkaSettings = KafkaSettings()
    postgres: PostgresSettings = PostgresSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    stripe: StripeSettings = StripeSettings()
    prefect: PrefectSettings = PrefectSettings()
    ingest: IngestSettings = IngestSettings()
    stream: StreamSettings = StreamSettings()
    api: ApiSettings = ApiSettings()
    web: WebSettings = WebSettings()
    jwt: JwtSettings = JwtSettings()
    billing: BillingSettings = BillingSettings()
    smtp: SmtpSettings = SmtpSettings()
    notify: NotifySettings = NotifySettings()
    housekeeping: HousekeepingSettings = HousekeepingSettings()

    @model_validator(mode="after")
    def _resolve_clickhouse_host_secret_file(self) -> Settings:
        # The section alone reaches the host (open_clickhouse takes just it), so it carries
        # the resolved path: beside the host's pid and log, not in chDB's own directory.
        if not self.clickhouse.host_secret_file:
            self.clickhouse = self.clickhouse.model_copy(
                update={"host_secret_file": str(self.run_dir / "clickhouse-host" / "secret")})
        return self

    @model_validator(mode="after")
    def _no_dev_secrets_when_exposed(self) -> Settings:
        # The dev secrets are public (they are in this file): anyone who can reach a
        # service bound beyond loopback could mint tokens with them, whatever the environment.
        exposed = [name for name, host in (("api", self.api.host), ("ingest", self.ingest.host))
                   if not _is_loopback(host)]
        if self.environment != "production" and not exposed:
            return self
        where = "in production" if self.environment == "production" else f"when {', '.join(exposed)} binds beyond loopback"
        if self.jwt.secret.get_secret_value() == _DEV_JWT_SECRET:
            raise ValueError(f"METERLINE_JWT__SECRET must be set {where}")
        if self.api.operator_token.get_secret_value() == _DEV_OPERATOR_TOKEN:
            raise ValueError(f"METERLINE_API__OPERATOR_TOKEN must be set {where}")
        return self

    # Resolved addresses: the configured server, else the embedded one. All but the
    # PostgreSQL URL and the chDB directory (which need the run directory) resolve within
    # their own section, so an adapter given only its section finds the same address.
    @property
    def kafka_bootstrap(self) -> str:
        return self.kafka.bootstrap

    @property
    def clickhouse_is_embedded(self) -> bool:
        return self.clickhouse.is_embedded

    @property
    def clickhouse_dsn(self) -> str:
        return self.clickhouse.url or f"chdb://{self.run_dir / 'clickhouse'}"

    @property
    def clickhouse_host_url(self) -> str:
        return self.clickhouse.host_url

    @property
    def clickhouse_host_secret_file(self) -> Path:
        return self.clickhouse.host_secret_path

    @property
    def stripe_api_base(self) -> str:
        return self.stripe.effective_api_base

    @property
    def stripe_is_local(self) -> bool:
        return self.stripe.is_local

    @property
    def prefect_api_url(self) -> str:
        return self.prefect.effective_api_url

    @property
    def stream_web_url(self) -> str:
        return f"http://127.0.0.1:{self.stream.web_port}"

    @property
    def postgres_url(self) -> str:
        """The configured database URL, else the embedded server's (written by `infra up`)."""
        if self.postgres.url:
            return self.postgres.url
        uri_file = self.run_dir / "postgres" / "uri"
        if not uri_file.exists():
            raise RuntimeError(
                "PostgreSQL is not configured and the embedded one is not running: "
                "run `meterline infra up` or set METERLINE_POSTGRES__URL"
            )
        return uri_file.read_text().strip()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost, or 0.0.0.0-like wildcards: exposed
