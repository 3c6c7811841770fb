"""Signatures dated in the future (beyond the tolerance) are refused like stale ones."""

from __future__ import annotations

from billing_jobs.webhook_signing import signature_header, signed_in_future, verify

NOW = 1_800_000_000


def test_a_timestamp_ahead_by_more_than_the_tolerance_is_from_the_future():
    header = signature_header("whsec_x", NOW + 301, b"{}")
    assert signed_in_future(header, NOW, 300)
    assert not verify("whsec_x", header, b"{}", NOW, 300)


def test_a_timestamp_within_the_tolerance_or_in_the_past_is_not():
    assert not signed_in_future(signature_header("whsec_x", NOW + 300, b"{}"), NOW, 300)
    assert not signed_in_future(signature_header("whsec_x", NOW - 10_000, b"{}"), NOW, 300)


def test_stripe_headers_and_headers_without_a_timestamp():
    assert signed_in_future(f"t={NOW + 10**12},v1=abc,v0=def", NOW, 300)
    assert not signed_in_future("v1=abc", NOW, 300)
    assert not signed_in_future("t=soon,v1=abc", NOW, 300)
