"""Which addresses outbound webhooks may reach (billing_jobs.outbound_targets). Pure: the
resolver is a fake of our own port; the real DNS and sockets are in
tests/integration/test_webhook_targets.py."""

from __future__ import annotations

import ipaddress

import pytest

from billing_jobs.outbound_targets import TargetPolicy, TargetRefused, address_allowed, resolve_target

STRICT = TargetPolicy()


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.100.100.200", "fd00:ec2::254", "fe80::1", "0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
    "224.0.0.1", "255.255.255.255", "192.0.2.10",
])
def test_non_public_addresses_are_refused(address):
    assert not address_allowed(ipaddress.ip_address(address), STRICT)


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert address_allowed(ipaddress.ip_address(address), STRICT)


def test_the_development_setting_and_allowed_networks_open_private_addresses():
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), TargetPolicy(allow_private=True))
    only_one = TargetPolicy(allowed_networks=("10.20.0.0/16",))
    assert address_allowed(ipaddress.ip_address("10.20.3.4"), only_one)
    assert not address_allowed(ipaddress.ip_address("10.21.3.4"), only_one)


def test_a_name_is_judged_by_every_address_it_resolves_to():
    def resolver(host, port):
        return {"public.example": ["93.184.215.14"], "split.example": ["93.184.215.14", "127.0.0.1"]}[host]

    target = resolve_target("https://public.example:8443/hook?x=1", STRICT, resolver)
    assert (target.address, target.host, target.host_header) == ("93.184.215.14", "public.example", "public.example:8443")
    assert target.pinned_url == "https://93.184.215.14:8443/hook?x=1"
    with pytest.raises(TargetRefused):
        resolve_target("https://split.example/hook", STRICT, resolver)


def test_ipv6_targets_are_pinned_in_brackets():
    target = resolve_target("http://v6.example/h", STRICT, lambda host, port: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    assert target.pinned_url == "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/h"


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "gopher://x/"])
def test_only_http_urls_with_a_host(url):
    with pytest.raises(TargetRefused):
        resolve_target(url, STRICT, lambda host, port: ["93.184.215.14"])
