import pytest

# (method, path, body, scope needed)
ROUTES = [
    ("GET", "/api/v1/tasks", None, "tasks:read"),
    ("GET", "/api/v1/tasks/{task}", None, "tasks:read"),
    ("GET", "/api/v1/tasks/{task}/output", None, "tasks:read"),
    ("POST", "/api/v1/tasks", {"title": "t", "prompt": "p"}, "tasks:write"),
    ("POST", "/api/v1/tasks/{task}/cancel", None, "tasks:write"),
    ("GET", "/api/v1/codebases", None, "codebases:read"),
    ("POST", "/api/v1/codebases", {"name": "n"}, "codebases:write"),
    ("POST", "/api/v1/messages", {"message": "m", "conversation_id": "c1"}, "messages:write"),
    ("GET", "/api/v1/conversations/c1/messages", None, "messages:read"),
]


@pytest.mark.parametrize("method, path, body, scope", ROUTES)
def test_each_route_needs_its_scope(app, make_user, method, path, body, scope):
    from hub.auth import SCOPES

    full = make_user("full")
    task = full.create_task()
    full.post("/api/v1/messages", json={"message": "m", "conversation_id": "c1"})
    lacking = make_user("lacking", scopes=[s for s in SCOPES if s != scope])
    # Same person, a key without the scope: refused before anything happens.
    from hub.services import accounts

    with app.app_context():
        key, plain = accounts.create_api_key("full", scopes=[s for s in SCOPES if s != scope])
    url = path.format(task=task["task_id"])
    headers = {"Authorization": f"Bearer {plain}"}
    response = full.client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == 403
    assert response.json["code"] == "insufficient_scope" and scope in response.json["message"]
    allowed = full.client.open(url, method=method, json=body, headers=full.headers)
    assert allowed.status_code in (200, 201), allowed.json
    assert lacking.get("/api/v1/me").status_code == 200


def test_every_api_route_is_authenticated(app):
    """No /api/v1 view can be reached without Blueprint.auth."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        view = app.view_functions[rule.endpoint]
        cls = getattr(view, "view_class", None)
        methods = [getattr(cls, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}] if cls else [view]
        for method in methods:
            assert hasattr(method, "required_scope"), f"{rule.rule} {method.__name__} lacks Blueprint.auth"
