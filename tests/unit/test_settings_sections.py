"""Each section resolves its own service's address, so an adapter handed only its section
reaches the same server as one reading the whole Settings did."""

import pytest

from meterline.settings import ClickHouseSettings, KafkaSettings, PrefectSettings, Settings, StripeSettings


@pytest.mark.parametrize("section, expected", [
    pytest.param(KafkaSettings(port=25092), "127.0.0.1:25092", id="kafka-embedded"),
    pytest.param(KafkaSettings(bootstrap_servers="broker:9092", port=25092), "broker:9092", id="kafka-configured"),
])
def test_kafka_bootstrap(section, expected):
    assert section.bootstrap == expected
    assert Settings(kafka=section).kafka_bootstrap == expected


@pytest.mark.parametrize("section, embedded", [
    pytest.param(ClickHouseSettings(port=25123), True, id="embedded"),
    pytest.param(ClickHouseSettings(url="http://ch:8123", port=25123), False, id="server"),
])
def test_clickhouse_host(section, embedded):
    assert section.is_embedded is embedded
    assert section.host_url == "http://127.0.0.1:25123"
    settings = Settings(clickhouse=section)
    assert (settings.clickhouse_is_embedded, settings.clickhouse_host_url) == (embedded, section.host_url)


@pytest.mark.parametrize("section, base, local", [
    pytest.param(StripeSettings(port=25420), "http://127.0.0.1:25420", True, id="localstripe"),
    pytest.param(StripeSettings(api_base="https://api.stripe.com", port=25420), "https://api.stripe.com", False,
                 id="stripe"),
])
def test_stripe_api_base(section, base, local):
    assert (section.effective_api_base, section.is_local) == (base, local)
    settings = Settings(stripe=section)
    assert (settings.stripe_api_base, settings.stripe_is_local) == (base, local)


@pytest.mark.parametrize("section, url", [
    pytest.param(PrefectSettings(port=25200), "http://127.0.0.1:25200/api", id="embedded"),
    pytest.param(PrefectSettings(api_url="http://prefect:4200/api", port=25200), "http://prefect:4200/api",
                 id="server"),
])
def test_prefect_api_url(section, url):
    assert section.effective_api_url == url
    assert Settings(prefect=section).prefect_api_url == url
