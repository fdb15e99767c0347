"""The OpenAPI document is the contract: schemathesis finds no 5xx and no
response that breaks the document."""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    """Fuzzed hook target URLs must not become DNS queries leaving the
    machine: names fail to resolve, IP literals still parse."""
    import socket

    real = socket.getaddrinfo

    def numeric_only(host, port, family=0, type=0, proto=0, flags=0):
        return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)


@pytest.fixture
def auth_headers(make_user):
    # Unlimited tier: on the free tier most cases would only meet the rate limit.
    user = make_user("fuzz", tier="enterprise")
    user.create_task()
    user.post("/api/v1/messages", json={"message": "hi", "conversation_id": "thread-1"})
    return user.headers


@schema.parametrize()
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_contract(case, auth_headers):
    case.call_and_validate(headers=auth_headers, checks=[
        not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance])


def test_openapi_and_docs_load(client):
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/tasks" in spec.json["paths"]
    assert "bearerAuth" in spec.json["components"]["securitySchemes"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.data
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
