"""Bodies over HUB_MAX_REQUEST_BYTES answer 413 as JSON before anything
reads them, on every route, signed in or not (the token endpoint too)."""

import httpx
import pytest

# The size limit answers before anything reads the body or the database: nothing for the PostgreSQL pass.
pytestmark = pytest.mark.sqlite_only

MIB = 1024 * 1024


def assert_too_large(response, limit=MIB):
    assert response.status_code == 413, response.text[:300]
    assert response.headers["Content-Type"] == "application/json"
    body = response.json() if callable(response.json) else response.json
    assert body["code"] == "payload_too_large"
    assert f"{limit:,} bytes" in body["message"] and "HUB_MAX_REQUEST_BYTES" not in body["message"]


@pytest.mark.parametrize(
    "url",
    [
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/login",
        "/api/v1/tasks",
        "/connectors/zapier/actions/create_task",
    ],
)
def test_a_form_over_the_limit_is_413_as_json(client, url):
    assert_too_large(client.post(url, data={"grant_type": "x" * MIB}))


def test_a_json_body_over_the_limit_is_413_and_creates_nothing(alice):
    response = alice.post("/api/v1/tasks", json={"title": "t", "prompt": "p" * MIB})
    assert_too_large(response)
    assert alice.get("/api/v1/tasks").json == []


def test_a_body_just_under_the_limit_is_read(alice):
    # The field limit (100,000 characters) refuses it, not the size limit.
    response = alice.post("/api/v1/tasks", json={"title": "t", "prompt": "p" * (MIB - 100)})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["prompt"]


def test_the_limit_is_a_setting(monkeypatch, hub_env):
    monkeypatch.setenv("HUB_MAX_REQUEST_BYTES", "2000")
    from hub import create_app

    client = create_app({"TESTING": True}).test_client()
    assert_too_large(client.post("/oauth/token", data={"code": "x" * 2000}), limit=2000)
    assert client.post("/oauth/token", data={"code": "x" * 1900}).status_code == 400  # read and refused as OAuth


def test_a_large_body_to_the_live_token_endpoint_is_413_with_or_without_a_length(live_hub):
    with httpx.Client(base_url=live_hub.base, timeout=30) as http:
        assert_too_large(
            http.post(
                "/oauth/token",
                content=b"grant_type=" + b"x" * (20 * MIB),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        )

        def chunks():  # no Content-Length: the hub must stop reading at the limit
            yield b"grant_type="
            for _ in range(20):
                yield b"x" * MIB

        assert_too_large(
            http.post("/oauth/token", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
        )
        assert_too_large(http.post("/api/v1/tasks", content=chunks(), headers={"Content-Type": "application/json"}))
        # The hub still answers afterwards.
        assert http.post("/oauth/token", data={"grant_type": "password"}).status_code == 400
