"""Each domain error becomes one HTTP status with the API's one error shape.

An app with only the error handlers and one route raising the given error, served
in-process: the mapping is the API's whole contract for failures, so it is pinned here.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.domain_errors import (
    Conflict, DomainError, FieldProblem, Forbidden, InvalidInput, MalformedRequest, NotFound, ProviderRefused,
    Unauthenticated, Unavailable,
)
from api.errors import install_error_handlers


def _answer(error: Exception) -> tuple[int, dict, dict]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fail")
    async def fail() -> None:
        raise error

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/fail")
    return response.status_code, response.json(), dict(response.headers)


@pytest.mark.parametrize("error, status, code", [
    (MalformedRequest("bad signature", code="invalid_webhook"), 400, "invalid_webhook"),
    (Unauthenticated("missing bearer access token"), 401, "unauthorized"),
    (Forbidden("this action needs the admin role or higher (you are viewer)"), 403, "forbidden"),
    (NotFound("no invoice 'X'"), 404, "not_found"),
    (Conflict("taken", code="slug_taken"), 409, "slug_taken"),
    (InvalidInput("from and to need a UTC offset"), 422, "validation_error"),
    (ProviderRefused("refused", code="payment_provider_error"), 502, "payment_provider_error"),
    (Unavailable("the usage store is not reachable"), 503, "service_unavailable"),
], ids=["400", "401", "403", "404", "409", "422", "502", "503"])
def test_each_domain_error_has_its_status_and_code(error: DomainError, status: int, code: str) -> None:
    got_status, body, _ = _answer(error)

    assert got_status == status
    assert body == {"error": {"code": code, "message": error.message, "details": []}}


def test_field_problems_become_details_in_order() -> None:
    error = NotFound("no plan with slug 'x'", problems=[FieldProblem("plan_slug", "unknown plan"),
                                                        FieldProblem("meter", "unknown meter", "query")])

    _, body, _ = _answer(error)

    assert body["error"]["details"] == [{"field": "plan_slug", "location": "body", "reason": "unknown plan"},
                                        {"field": "meter", "location": "query", "reason": "unknown meter"}]


def test_only_401_names_the_bearer_scheme() -> None:
    assert _answer(Unauthenticated("expired", code="invalid_token"))[2]["www-authenticate"] == "Bearer"
    assert "www-authenticate" not in _answer(Forbidden("no"))[2]


def test_an_unmapped_exception_is_a_bare_500() -> None:
    status, body, _ = _answer(RuntimeError("constraint violated: x"))

    assert (status, body) == (500, {"error": {"code": "internal_error", "message": "internal error", "details": []}})
