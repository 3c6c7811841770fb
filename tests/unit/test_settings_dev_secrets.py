"""The built-in development secrets are refused whenever a service binds beyond loopback."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from meterline.settings import Settings

REAL = {"jwt": {"secret": "s" * 48}, "api": {"operator_token": "o" * 32}}


@pytest.mark.parametrize("environment", ["local", "test"])
@pytest.mark.parametrize("section", ["api", "ingest"])
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "api.internal.example"])
def test_dev_secrets_refused_on_an_exposed_bind_in_any_environment(environment, section, host):
    with pytest.raises(ValidationError, match=f"must be set when {section} binds beyond loopback"):
        Settings(environment=environment, **{section: {"host": host}})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_dev_secrets_are_fine_on_loopback(host):
    assert Settings(environment="local", api={"host": host}, ingest={"host": host}).api.host == host


def test_only_the_operator_token_left_at_its_default_is_refused_too():
    with pytest.raises(ValidationError, match="METERLINE_API__OPERATOR_TOKEN"):
        Settings(environment="local", jwt={"secret": "s" * 48}, api={"host": "0.0.0.0"})


def test_real_secrets_may_bind_anywhere():
    settings = Settings(environment="local", jwt=REAL["jwt"],
                        api={"host": "0.0.0.0", **REAL["api"]}, ingest={"host": "0.0.0.0"})
    assert settings.api.host == "0.0.0.0"


def test_production_still_needs_real_secrets_even_on_loopback():
    with pytest.raises(ValidationError, match="in production"):
        Settings(environment="production")
