"""The OpenAPI document is the contract: schemathesis finds no 5xx and no
response that breaks the document, on every operation (worker ones with a
worker token), with data that fits the document and data that does not."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support import TEST_DATABASE

schema = schemathesis.pytest.from_fixture("api_schema")
# Cases per operation. The PostgreSQL pass fuzzes the same operations with fewer (CI time): what only
# PostgreSQL refuses (NUL in text, integers past 64 bits) has tests of its own on both databases
# (test_input_guard.py, test_bad_input.py).
EXAMPLES = 30 if TEST_DATABASE == "sqlite" else 10
# Fuzzed hook target URLs must not become DNS queries leaving the machine.
pytestmark = pytest.mark.usefixtures("no_dns")


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture
def credentials(app, make_user):
    """Headers by security scheme: a user's API key, or a worker token."""
    from hub.services import workers

    # Unlimited tier: on the free tier most cases would only meet the rate limit.
    user = make_user("fuzz", tier="enterprise")
    user.create_task()
    user.post("/api/v1/messages", json={"message": "hi", "conversation_id": "thread-1"})
    with app.app_context():
        worker_token = workers.create_token("fuzz")[1]
    return {"bearerAuth": user.headers, "workerToken": {"Authorization": f"Bearer {worker_token}"}}


CASES = {}  # operation -> cases sent, for the closing count


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_contract(case, credentials):
    schemes = [name for requirement in case.operation.definition.raw.get("security", []) for name in requirement]
    headers = credentials[schemes[0]] if schemes else {}
    CASES[case.operation.label] = CASES.get(case.operation.label, 0) + 1
    case.call_and_validate(
        headers=headers,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )


def test_every_operation_was_fuzzed(request):
    """Runs after the contract test (same module): each operation of the
    document met schemathesis, worker ones past authentication."""
    if not CASES:
        pytest.skip("the contract test did not run in this session")
    spec = request.getfixturevalue("client").get("/openapi.json").json
    operations = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    assert operations - set(CASES) == set()
    print(f"\nschemathesis: {sum(CASES.values())} cases on {len(CASES)} operations")


def test_openapi_and_docs_load(client):
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/tasks" in spec.json["paths"]
    assert "bearerAuth" in spec.json["components"]["securitySchemes"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.data
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
