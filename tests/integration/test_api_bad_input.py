"""Bad input against the running admin API: each answer is the 4xx the issue names, never a 5xx.

The inputs are issue 11's list (each was a 500 or a 503 before), sent over HTTP to the
API process on real PostgreSQL and localstripe. Also the body limit and the security
headers, which only the real server (its error middleware, its framing) shows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import jwt
import pytest

from api.auth import Principal, issue_access_token
from tests.support.operators import operator_headers_sync
from meterline.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def client(api_service: Settings):
    # No keep-alive: a connection the server closes after an answer must not fail the next request.
    with httpx.Client(base_url=f"http://127.0.0.1:{api_service.api.port}", timeout=30,
                      limits=httpx.Limits(max_keepalive_connections=0)) as http:
        yield http


@pytest.fixture(scope="module")
def owner(client: httpx.Client) -> dict[str, str]:
    slug = "bi" + uuid.uuid4().hex[:10]
    answer = client.post("/v1/tenants", json={"slug": slug, "name": "Bad Input", "owner_email": f"owner@{slug}.test",
                                              "owner_password": PASSWORD})
    assert answer.status_code == 201, answer.text
    token = answer.json()["access_token"]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    meter = client.post("/v1/meters", headers=headers, json={"slug": "tokens", "event_type": "llm.completion",
                                                             "aggregation": "SUM", "value_path": "tokens"})
    assert meter.status_code == 201, meter.text
    return headers


def _fresh_registration(**overrides: str) -> dict[str, str]:
    slug = "bi" + uuid.uuid4().hex[:10]
    return {"slug": slug, "name": "Bad Input", "owner_email": f"owner@{slug}.test", "owner_password": PASSWORD,
            **overrides}


def _assert_error(answer: httpx.Response, status: int, field: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    if field is not None:
        assert field in [detail["field"] for detail in body["error"]["details"]], body


@pytest.mark.parametrize(("label", "overrides", "field"), [
    ("NUL in the tenant name", {"name": "ab\u0000cd"}, "name"),
    ("NUL in the owner email", {"owner_email": "ow\u0000ner@x.test"}, "owner_email"),
    ("slug with a final newline", {"slug": "ab\n"}, "slug"),
    ("slug with a lone surrogate", {"slug": "ab\ud800"}, "slug"),
    ("escape character in the name", {"name": "ab\u001b[31m"}, "name"),
])
def test_registration_refuses_control_characters(client: httpx.Client, label: str, overrides: dict[str, str],
                                                 field: str) -> None:
    body = json.dumps(_fresh_registration(**overrides))  # json.dumps escapes what httpx would not encode

    answer = client.post("/v1/tenants", content=body, headers={"Content-Type": "application/json"})

    _assert_error(answer, 422, field)


def test_login_with_a_nul_in_the_email_is_422(client: httpx.Client) -> None:
    answer = client.post("/v1/auth/login", json={"email": "a\u0000b@x.test", "password": PASSWORD})

    _assert_error(answer, 422, "email")


@pytest.mark.parametrize(("label", "body", "field"), [
    ("NUL in the value path", {"slug": "m-a", "event_type": "e", "aggregation": "SUM", "value_path": "a\u0000b"},
     "value_path"),
    ("NUL in the event type", {"slug": "m-b", "event_type": "e\u0000", "aggregation": "COUNT"}, "event_type"),
    ("NUL in a group-by path", {"slug": "m-c", "event_type": "e", "aggregation": "COUNT", "group_by": ["r\u0000"]},
     "group_by.0"),
    ("slug with a final newline", {"slug": "ab\n", "event_type": "e", "aggregation": "COUNT"}, "slug"),
    ("value path with a final newline", {"slug": "m-d", "event_type": "e", "aggregation": "SUM",
                                         "value_path": "tokens\n"}, "value_path"),
])
def test_meter_definitions_refuse_control_characters(client: httpx.Client, owner: dict[str, str], label: str,
                                                     body: dict, field: str) -> None:
    answer = client.post("/v1/meters", headers=owner, json=body)

    _assert_error(answer, 422, field)


def test_api_key_name_with_a_nul_is_422(client: httpx.Client, owner: dict[str, str]) -> None:
    _assert_error(client.post("/v1/api-keys", headers=owner, json={"name": "ci\u0000"}), 422, "name")


def test_plan_name_with_a_nul_is_422(client: httpx.Client, api_service: Settings) -> None:
    operator = operator_headers_sync(str(client.base_url), api_service, "finance")
    plan = {"slug": "p" + uuid.uuid4().hex[:8], "name": "Pro\u0000", "currency": "USD", "flat_fee": "10.00"}

    _assert_error(client.post("/v1/plans", headers=operator, json=plan), 422, "name")


@pytest.mark.parametrize(("label", "path", "field"), [
    ("NUL in an invoice number", "/v1/invoices/ab%00cd", "number"),
    ("newline in an invoice number", "/v1/invoices/ab%0A", "number"),
    ("before_id beyond bigint", "/v1/stream/dead-letters?before_id=99999999999999999999", "before_id"),
    ("usage from year 1", "/v1/usage?meter=tokens&from=0001-01-01T00:00:00Z&to=0001-01-02T00:00:00Z", "from"),
    ("usage to year 9999", "/v1/usage?meter=tokens&from=2026-01-01T00:00:00Z&to=9999-12-31T00:00:00Z", "to"),
    ("usage default from before 1970", "/v1/usage?meter=tokens&to=1970-01-01T01:00:00Z", "from"),
    ("hourly usage from year 1", "/v1/usage/hourly?meter=tokens&from=0001-01-01T00:00:00Z", "from"),
    ("duplicates from year 1", "/v1/stream/duplicates?from=0001-01-01T00:00:00Z", "from"),
    ("outbox before year 1", "/v1/notifications/outbox?before=0001-01-01T00:00:00Z", "before"),
    ("meter slug with NUL in usage", "/v1/usage?meter=tok%00ens", "meter"),
])
def test_parameters_out_of_range_are_422(client: httpx.Client, owner: dict[str, str], label: str, path: str,
                                         field: str) -> None:
    _assert_error(client.get(path, headers=owner), 422, field)


def test_a_valid_token_for_a_tenant_that_no_longer_exists_is_401(client: httpx.Client, api_service: Settings) -> None:
    ghost = Principal(uuid.uuid4(), uuid.uuid4(), "owner")
    token = issue_access_token(api_service.jwt, ghost, datetime.now(timezone.utc)).token
    headers = {"Authorization": f"Bearer {token}"}

    answers = {path: client.get(path, headers=headers) for path in
               ("/v1/meters", "/v1/api-keys", "/v1/invoices", "/v1/subscriptions/current", "/v1/notifications/target",
                "/v1/plans", "/v1/usage?meter=tokens", "/v1/stream/dead-letters")}
    answers["POST /v1/meters"] = client.post("/v1/meters", headers=headers,
                                             json={"slug": "ghost", "event_type": "e", "aggregation": "COUNT"})

    for answer in answers.values():
        _assert_error(answer, 401)
        assert answer.json()["error"]["code"] == "invalid_token"


def _signed(api_service: Settings, payload: bytes) -> dict[str, str]:
    secret = api_service.stripe.webhook_secret.get_secret_value()
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"}


def _event(**overrides) -> dict:
    return {"id": "evt_" + uuid.uuid4().hex, "object": "event", "type": "invoice.paid", "created": int(time.time()),
            "data": {"object": {"id": "in_" + uuid.uuid4().hex, "customer": "cus_nobody", "amount_paid": 100}},
            **overrides}


@pytest.mark.parametrize(("label", "payload"), [
    ("created=1e20", json.dumps(_event(created=1e20)).encode()),
    ("an array body", b"[1, 2, 3]"),
    ("a string body", b'"evt"'),
    ("a NUL in the id", json.dumps(_event(id="evt_\u0000x")).encode()),
    ("a NUL deep in the object", json.dumps(_event(data={"object": {"id": "in_1", "customer": "cus\u0000"}})).encode()),
    ("an amount beyond bigint", json.dumps(_event(data={"object": {"id": "in_1", "amount_paid": 10**30}})).encode()),
    ("no data object", json.dumps(_event(data=[])).encode()),
    ("nested 5,000 deep", b'{"id": "evt_deep", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("not UTF-8", b'{"id": "\xff"}'),
])
def test_signed_stripe_webhooks_billing_cannot_read_are_400(client: httpx.Client, api_service: Settings,
                                                            label: str, payload: bytes) -> None:
    answer = client.post("/webhooks/stripe", content=payload, headers=_signed(api_service, payload))

    _assert_error(answer, 400)
    assert answer.json()["error"]["code"] == "invalid_webhook"


def test_a_signed_webhook_billing_can_read_is_still_acknowledged(client: httpx.Client, api_service: Settings) -> None:
    payload = json.dumps(_event()).encode()

    answer = client.post("/webhooks/stripe", content=payload, headers=_signed(api_service, payload))

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "unknown customer"


def test_a_body_over_the_limit_is_413_unread(client: httpx.Client, api_service: Settings) -> None:
    oversized = b'{"name": "' + b"x" * api_service.api.max_body_bytes + b'"}'

    answer = client.post("/v1/api-keys", content=oversized, headers={"Content-Type": "application/json"})

    _assert_error(answer, 413)
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_over_the_limit_is_413(client: httpx.Client, api_service: Settings) -> None:
    def chunks():
        for _ in range(api_service.api.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    answer = client.post("/webhooks/stripe", content=chunks(), headers={"Content-Type": "application/json"})

    _assert_error(answer, 413)


def test_json_nested_5000_deep_is_a_4xx(client: httpx.Client, owner: dict[str, str]) -> None:
    deep = b'{"slug": "deep", "event_type": "e", "aggregation": "COUNT", "group_by": ' + b"[" * 5000 + b"]" * 5000 + b"}"

    answer = client.post("/v1/meters", headers={**owner, "Content-Type": "application/json"}, content=deep)

    assert answer.status_code in (400, 422), answer.text


@pytest.mark.parametrize("path", ["/healthz", "/v1/meters", "/v1/invoices/ab%00cd", "/no-such-route", "/openapi.json"])
def test_every_answer_carries_the_security_headers(client: httpx.Client, owner: dict[str, str], path: str) -> None:
    answer = client.get(path, headers=owner)

    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in answer.headers  # plain HTTP here


def test_hsts_when_the_proxy_says_the_request_came_over_tls(client: httpx.Client) -> None:
    answer = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})

    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_docs_page_has_its_own_strict_csp(client: httpx.Client) -> None:
    answer = client.get("/docs")

    assert answer.status_code == 200
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "'sha256-" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_no_cross_origin_access_without_configured_origins(client: httpx.Client) -> None:
    preflight = client.options("/v1/meters", headers={"Origin": "https://evil.example",
                                                      "Access-Control-Request-Method": "GET"})
    simple = client.get("/healthz", headers={"Origin": "https://evil.example"})

    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


def test_a_token_expired_is_401_not_500(client: httpx.Client, api_service: Settings) -> None:
    claims = {"sub": str(uuid.uuid4()), "tenant_id": str(uuid.uuid4()), "role": "owner",
              "exp": int((datetime.now(timezone.utc) - timedelta(minutes=1)).timestamp())}
    token = jwt.encode(claims, api_service.jwt.secret.get_secret_value(), algorithm=api_service.jwt.algorithm)

    _assert_error(client.get("/v1/meters", headers={"Authorization": f"Bearer {token}"}), 401)
