"""schemathesis against the running admin API and ingest, each from its own /openapi.json.

Every operation gets a bounded number of generated requests (valid and invalid by the
spec), sent authenticated: the admin API with a fresh tenant's owner token, ingest with
its API key. Each answer must be no 5xx, a status the operation declares, a declared
content type, and a body matching the declared schema. The bound (EXAMPLES) keeps the
whole run under about a minute on a 2-core machine.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from meterline.settings import Settings
from tests.support.operators import operator_headers_sync

pytestmark = pytest.mark.integration

EXAMPLES = 10  # per operation and generation mode (valid by the spec, then invalid)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Tally:
    operations: list[str] = field(default_factory=list)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def fuzz(schema, headers: dict[str, str], checks=CHECKS) -> Tally:
    """Every operation of `schema`, EXAMPLES requests per mode. A finding ends its operation
    and mode (hypothesis stops at the first, unshrunk: the bound is on time) and is collected,
    so that one run reports the findings of every operation.

    Driven through hypothesis directly: schemathesis' own pytest plugin needs pytest
    internals that pytest 9 no longer has.
    """
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def send(case) -> None:
                tally.requests += 1
                response = case.call(headers=headers, timeout=30)
                tally.statuses[response.status_code] += 1
                case.validate_response(response, checks=checks, headers=headers)

            try:
                send()
            except Unsatisfiable:
                # Only the negative mode, on an operation with nothing to make invalid.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, FailureGroup) as exc:  # noqa: BLE001 - every finding is reported at the end
                tally.failures.append(f"{operation.label} [{mode.value}]: {exc}"[:2000])
    return tally


@pytest.fixture(scope="module")
def owner(api_service: Settings) -> dict[str, str]:
    """A fresh tenant: its owner's token and its first API key."""
    slug = "fz" + uuid.uuid4().hex[:10]
    answer = httpx.post(f"http://127.0.0.1:{api_service.api.port}/v1/tenants", timeout=30,
                        json={"slug": slug, "name": "Fuzz", "owner_email": f"owner@{slug}.test",
                              "owner_password": "fuzz-" + uuid.uuid4().hex})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return {"token": body["access_token"]["access_token"], "api_key": body["api_key"]["key"]}


def test_admin_api_answers_generated_requests_within_its_spec(api_service: Settings, owner: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_url(f"http://127.0.0.1:{api_service.api.port}/openapi.json")

    tally = fuzz(schema, {"Authorization": f"Bearer {owner['token']}"})

    print(f"admin API: {tally.requests} requests, statuses {sorted(tally.statuses.items())}")
    assert tally.requests >= EXAMPLES * 20, f"only {tally.requests} requests sent"
    # Generated requests got past validation into the routes, and invalid ones were refused.
    assert tally.statuses[200] + tally.statuses[201] > 0 and tally.statuses[422] > 0
    assert tally.failures == [], "\n\n".join(tally.failures)


def test_operator_routes_answer_generated_requests_within_their_spec(api_service: Settings) -> None:
    """The operator routes with a finance operator's token (a tenant's token stops at 401)."""
    base_url = f"http://127.0.0.1:{api_service.api.port}"
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").include(path_regex="^/v1/operator/")
    finance = operator_headers_sync(base_url, api_service, "finance")

    tally = fuzz(schema, finance)

    print(f"operator routes: {tally.requests} requests, statuses {sorted(tally.statuses.items())}")
    assert len(tally.operations) >= 13 and tally.statuses[200] > 0 and tally.statuses[422] > 0
    assert tally.failures == [], "\n\n".join(tally.failures)


def _ingest_fuzz(settings: Settings, api_key: str, checks) -> Tally:
    schema = schemathesis.openapi.from_url(f"http://127.0.0.1:{settings.ingest.port}/openapi.json")
    tally = fuzz(schema, {"Authorization": f"Bearer {api_key}"}, checks)
    print(f"ingest: {tally.requests} requests, statuses {sorted(tally.statuses.items())}")
    return tally


def test_ingest_never_answers_generated_requests_with_a_server_error(ingest_service: Settings,
                                                                     owner: dict[str, str]) -> None:
    tally = _ingest_fuzz(ingest_service, owner["api_key"], [not_a_server_error])

    # Ingest's spec declares no parameters and no request body schema (it reads the raw
    # body), so each operation has next to nothing to vary: once each is all there is.
    assert tally.requests >= len(tally.operations), f"only {tally.requests} requests sent"
    assert tally.failures == [], "\n\n".join(tally.failures)


def test_ingest_answers_generated_requests_within_its_spec(ingest_service: Settings, owner: dict[str, str]) -> None:
    tally = _ingest_fuzz(ingest_service, owner["api_key"], CHECKS)

    assert tally.failures == [], "\n\n".join(tally.failures)
