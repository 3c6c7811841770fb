"""The billing stores raise RetryableError when PostgreSQL is gone (flows retry only that):
a server stopped under a warm pool, and an address where no server listens.

The stopped server is this test's own embedded PostgreSQL (run directory inside
.run/test), so stopping it disturbs no other test."""

from __future__ import annotations

import shutil
import socket
import uuid
from datetime import date

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from billing_jobs.errors import RetryableError
from infra.postgres import start_embedded_postgres, stop_embedded_postgres
from meterline.settings import Settings
from warehouse.postgres.billing_dunning import PgDunningStore, tenant_ids
from warehouse.postgres.billing_limits import PgLimitStore
from warehouse.postgres.engine import create_sync_engine
from warehouse.postgres.invoices import PgInvoiceStore

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def stopped_postgres(stack: Settings):
    """An engine whose pool held a live connection to a server that has since stopped."""
    settings = stack.model_copy(update={"run_dir": stack.run_dir / "pg-stopped"})
    shutil.rmtree(settings.run_dir, ignore_errors=True)
    engine = create_sync_engine(start_embedded_postgres(settings))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert stop_embedded_postgres(settings)
        yield engine
    finally:
        engine.dispose()
        stop_embedded_postgres(settings)
        shutil.rmtree(settings.run_dir, ignore_errors=True)


def _store_calls(engine):
    tenant = str(uuid.uuid4())
    return [
        lambda: PgLimitStore(engine).subjects(),
        lambda: PgDunningStore(engine).dunning_invoices(tenant),
        lambda: PgInvoiceStore(engine).get(tenant, "INV-1"),
        lambda: PgLimitStore(engine).recorded_alerts(tenant, date(2026, 11, 1)),
        lambda: tenant_ids(engine),
    ]


def _assert_retryable(engine) -> None:
    for call in _store_calls(engine):
        with pytest.raises(RetryableError) as raised:
            call()
        assert isinstance(raised.value.__cause__, sa_exc.OperationalError | sa_exc.InterfaceError)


def test_a_stopped_server_is_a_retryable_error(stopped_postgres):
    _assert_retryable(stopped_postgres)


def test_an_unreachable_server_is_a_retryable_error():
    engine = create_sync_engine(f"postgresql://meterline@127.0.0.1:{_free_port()}/meterline?connect_timeout=2")
    try:
        _assert_retryable(engine)
    finally:
        engine.dispose()
