"""NUL characters (which PostgreSQL text cannot hold) are refused with a 422
naming the field, on every database, and nothing is stored."""

import pytest


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("post", "/api/v1/tasks", {"title": "a\u0000b", "prompt": "p"}, "title"),
        ("post", "/api/v1/tasks", {"title": "t", "prompt": "p", "codebase_id": "\u0000"}, "codebase_id"),
        ("post", "/api/v1/messages", {"message": "\u0000"}, "message"),
        ("get", "/api/v1/tasks?codebase_id=%00", None, "codebase_id"),
        ("get", "/api/v1/tasks/task_%00", None, "task_id"),
    ],
)
def test_nul_is_refused_naming_the_field(alice, method, url, body, field):
    response = getattr(alice, method)(url, json=body) if body else getattr(alice, method)(url)
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == [field]
    assert alice.get("/api/v1/tasks").json == []


def test_nul_in_a_form_is_refused_naming_the_field(client):
    response = client.post("/login", data={"username": "a\u0000", "password": "p"})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["username"]
