"""Scopes on every route. The matrix below is read from the app itself (its
url_map and each view's Blueprint.auth requirement) and compared with the
table here, so a route that loses its scope, or a new route nobody listed,
fails; then every route is called with credentials that lack its scope,
including one with no scopes at all, and each must be refused."""

import pytest
from conftest import ApiUser

ALL_TASKS = ("tasks:read", "messages:read")  # a hook route: the read scope of some event (EVENT_SCOPES)
WORKER = "worker"

# Every route under /api/ and /connectors/ with its requirement: a scope, a
# tuple (any one of them: the hook's own event scope is checked after), or
# None (any user credential) — each None is an exception listed with its reason.
MATRIX = {
    ("GET", "/api/v1/codebases"): "codebases:read",
    ("POST", "/api/v1/codebases"): "codebases:write",
    ("GET", "/api/v1/conversations/<conversation_id>/messages"): "messages:read",
    ("POST", "/api/v1/messages"): "messages:write",
    ("GET", "/api/v1/tasks"): "tasks:read",
    ("POST", "/api/v1/tasks"): "tasks:write",
    ("GET", "/api/v1/tasks/<task_id>"): "tasks:read",
    ("POST", "/api/v1/tasks/<task_id>/cancel"): "tasks:write",
    ("GET", "/api/v1/tasks/<task_id>/output"): "tasks:read",
    ("GET", "/api/v1/hooks"): ALL_TASKS,
    ("POST", "/api/v1/hooks"): ALL_TASKS,
    ("GET", "/api/v1/hooks/<hook_id>"): ALL_TASKS,
    ("DELETE", "/api/v1/hooks/<hook_id>"): ALL_TASKS,
    ("GET", "/api/v1/hooks/<hook_id>/deliveries"): ALL_TASKS,
    ("POST", "/api/v1/deliveries/<delivery_id>/replay"): ALL_TASKS,
    ("GET", "/api/v1/me"): None,
    ("GET", "/api/v1/me/grants"): None,
    ("DELETE", "/api/v1/me/grants/<client_id>"): None,
    ("POST", "/api/v1/worker/register"): WORKER,
    ("POST", "/api/v1/worker/<worker_id>/claim"): WORKER,
    ("POST", "/api/v1/worker/tasks/<task_id>/heartbeat"): WORKER,
    ("POST", "/api/v1/worker/tasks/<task_id>/complete"): WORKER,
    ("POST", "/api/v1/worker/tasks/<task_id>/fail"): WORKER,
    ("GET", "/connectors/zapier/triggers/new_task"): "tasks:read",
    ("GET", "/connectors/zapier/triggers/task_completed"): "tasks:read",
    ("GET", "/connectors/zapier/triggers/task_failed"): "tasks:read",
    ("GET", "/connectors/zapier/triggers/codebase_choices"): "codebases:read",
    ("GET", "/connectors/zapier/triggers/cancellable_task_choices"): "tasks:read",
    ("POST", "/connectors/zapier/actions/create_task"): "tasks:write",
    ("POST", "/connectors/zapier/actions/send_message"): "messages:write",
    ("POST", "/connectors/zapier/actions/cancel_task"): "tasks:write",
    ("GET", "/connectors/zapier/searches/find_task"): "tasks:read",
    ("GET", "/connectors/example/triggers/task_cancelled"): "tasks:read",
    ("POST", "/connectors/example/actions/ask"): "tasks:write",
    ("GET", "/connectors/example/searches/recent_tasks"): "tasks:read",
}
# required_scope None: any user credential, even one without scopes, and why.
ANY_USER_CREDENTIAL = {
    ("GET", "/api/v1/me"): "who the credential belongs to (Zapier's connection test); shows nothing else",
}
# required_scope None but first_party: API keys only (not OAuth apps), and why.
FIRST_PARTY = {
    ("GET", "/api/v1/me/grants"): "the person's connected apps: one app must not see the others",
    ("DELETE", "/api/v1/me/grants/<client_id>"): "disconnecting an app: one app must not disconnect another",
}
# No credential at all, and why.
PUBLIC = {
    ("GET", "/connectors/"): "the installed connectors, like /openapi.json",
    ("GET", "/connectors/zapier/"): "what the connector offers, like /openapi.json",
    ("GET", "/connectors/example/"): "what the connector offers, like /openapi.json",
    ("GET", "/connectors/zapier/definition.json"): "the Zapier app: holds no secret",
    ("GET", "/connectors/zapier/docs"): "the Zapier guide",
}


@pytest.fixture(autouse=True)
def loopback_hooks(hub_env, monkeypatch):
    """Hooks here point at 127.0.0.1 (no worker runs, nothing is sent)."""
    monkeypatch.setenv("HUB_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")


HOOK_URL = "http://127.0.0.1:9/hook"


def routes(app):
    """(method, rule, view function) of every route under /api/ and /connectors/."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/connectors/")):
            continue
        view = app.view_functions[rule.endpoint]
        cls = getattr(view, "view_class", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule, getattr(cls, method.lower()) if cls else view


def test_the_app_has_exactly_the_listed_routes_and_requirements(app):
    found, public, first_party = {}, set(), set()
    for method, rule, view in routes(app):
        if not hasattr(view, "required_scope"):
            public.add((method, rule))
            continue
        found[(method, rule)] = view.required_scope
        if view.first_party:
            first_party.add((method, rule))
    assert public == set(PUBLIC), "a route without Blueprint.auth must be listed in PUBLIC with its reason"
    assert found == MATRIX
    assert {key for key, scope in found.items() if scope is None} == set(ANY_USER_CREDENTIAL) | set(FIRST_PARTY)
    assert first_party == set(FIRST_PARTY)


@pytest.fixture
def callers(app, make_user):
    """One person's credentials, real objects to address, and a worker token."""
    from hub.auth import SCOPES
    from hub.db import db
    from hub.services import accounts, oauth, workers

    full = make_user("ada", tier="enterprise")  # no request limit in the way
    task = full.create_task()["id"]
    full.post("/api/v1/messages", json={"message": "m", "conversation_id": "c1"})
    hook = full.post("/api/v1/hooks", json={"event": "task.created", "target_url": HOOK_URL})
    assert hook.status_code == 201, hook.json

    def key(scopes):
        with app.app_context():
            made, plain = accounts.create_api_key("ada", scopes=scopes)
        return ApiUser(full.client, "ada", plain, made.id)

    with app.app_context():
        _token, worker_token = workers.create_token("w")
        client, _ = oauth.create_client("Zapier", ["https://zapier.com/dashboard/auth/oauth/return/App1/"])
        app_token = oauth.new_access_token()
        oauth.save_token(
            {"access_token": app_token, "expires_in": 3600, "scope": " ".join(SCOPES)},
            client=client,
            user=accounts.get_user("ada"),
        )
        db.session.commit()
    worker = ApiUser(full.client, None, worker_token, None)
    registered = worker.post("/api/v1/worker/register", json={"name": "w"})
    assert registered.status_code == 200, registered.json
    params = {
        "task_id": task,
        "hook_id": hook.json["id"],
        "conversation_id": "c1",
        "delivery_id": "dlv_none",
        "client_id": "cli_none",
        "worker_id": registered.json["worker_id"],
    }
    return {
        "full": full,
        "key": key,
        "worker": worker,
        "app": ApiUser(full.client, "ada", app_token, None),
        "params": params,
    }


def call(caller, method, rule, params):
    url = rule.replace("<", "{").replace(">", "}").format(**params)
    return caller.client.open(
        url, method=method, headers=caller.headers, json={} if method in ("POST", "PUT", "PATCH") else None
    )


def refused(response, code):
    assert response.status_code == 403, response.json
    assert response.json["code"] == code, response.json
    return True


@pytest.mark.parametrize(("method", "rule"), sorted(MATRIX))
def test_each_route_refuses_a_credential_without_its_scope(callers, method, rule):
    from hub.auth import SCOPES, needed_scopes

    required, params = MATRIX[(method, rule)], callers["params"]
    needed = needed_scopes(required)
    if required == WORKER:
        # User credentials, with every scope or none, never reach the worker API.
        assert refused(call(callers["full"], method, rule, params), "wrong_credential")
        assert refused(call(callers["key"]([]), method, rule, params), "wrong_credential")
        assert call(callers["worker"], method, rule, params).status_code not in (401, 403)
        return
    assert refused(call(callers["worker"], method, rule, params), "wrong_credential")
    no_scopes = call(callers["key"]([]), method, rule, params)
    if (method, rule) in ANY_USER_CREDENTIAL:
        assert no_scopes.status_code == 200, no_scopes.json
    elif (method, rule) in FIRST_PARTY:
        assert refused(call(callers["app"], method, rule, params), "insufficient_scope")
        assert no_scopes.status_code not in (401, 403), no_scopes.json
    else:
        assert refused(no_scopes, "insufficient_scope")
        lacking = call(callers["key"]([s for s in SCOPES if s not in needed]), method, rule, params)
        assert refused(lacking, "insufficient_scope")
        assert all(f"'{s}'" in lacking.json["message"] for s in needed), lacking.json
        if isinstance(required, str):  # the scope alone is enough
            assert call(callers["key"]([required]), method, rule, params).status_code not in (401, 403)
    allowed = call(callers["full"], method, rule, params)
    assert allowed.status_code not in (401, 403), allowed.json


# (method, path, body, scope needed): each with real objects, so the allowed call succeeds.
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
    ("GET", "/api/v1/hooks", None, "tasks:read"),
    ("POST", "/api/v1/hooks", {"event": "task.completed", "target_url": HOOK_URL}, "tasks:read"),
    ("POST", "/api/v1/hooks", {"event": "message.created", "target_url": HOOK_URL}, "messages:read"),
    ("GET", "/api/v1/hooks/{hook}", None, "tasks:read"),
    ("GET", "/api/v1/hooks/{hook}/deliveries", None, "tasks:read"),
    ("DELETE", "/api/v1/hooks/{hook}", None, "tasks:read"),
]


@pytest.mark.parametrize(("method", "path", "body", "scope"), ROUTES)
def test_each_route_needs_its_scope(app, make_user, method, path, body, scope):
    from hub.auth import SCOPES
    from hub.services import accounts

    full = make_user("full")
    task = full.create_task()
    full.post("/api/v1/messages", json={"message": "m", "conversation_id": "c1"})
    hook = full.post("/api/v1/hooks", json={"event": "task.created", "target_url": HOOK_URL}).json
    url = path.format(task=task["task_id"], hook=hook["id"])
    # Same person, a key without the scope, and one without any: refused before anything happens.
    with app.app_context():
        _key, lacking = accounts.create_api_key("full", scopes=[s for s in SCOPES if s != scope])
        _key, scopeless = accounts.create_api_key("full", scopes=[])
    for key in (lacking, scopeless):
        response = full.client.open(url, method=method, json=body, headers={"Authorization": f"Bearer {key}"})
        if (method, path, key) == ("GET", "/api/v1/hooks", lacking):
            assert response.json == []  # messages:read lists message hooks only: the task hook is not shown
            continue
        assert response.status_code == 403, response.json
        assert response.json["code"] == "insufficient_scope" and f"'{scope}'" in response.json["message"]
    assert full.get(f"/api/v1/hooks/{hook['id']}").json["status"] == "active"  # a refused DELETE changed nothing
    allowed = full.client.open(url, method=method, json=body, headers=full.headers)
    assert allowed.status_code in (200, 201), allowed.json
