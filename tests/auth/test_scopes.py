"""Scopes on every route. The routes and what each requires are read from
the app itself (its url_map and each view's Blueprint.auth requirement):
every route is called with credentials that lack its scope, including one
with no scopes at all, and each must be refused; the routes that ask for no
scope, or no credential, must each be an exception listed here with its
reason, so a route that loses its scope, or a new one without any, fails."""

import pytest
from support.routes import UNSET, routes
from support.users import ApiUser

from hub.auth import WORKER_SCOPE

# The SQLite pass is enough: a route checks the scope of the credential it was
# given before any query of its own, the same on either database.
pytestmark = pytest.mark.sqlite_only

# required_scope None: any user credential, even one without scopes, and why.
ANY_USER_CREDENTIAL = {
    ("GET", "/api/v1/me"): "who the credential belongs to (Zapier's connection test); shows nothing else",
}
# Any user credential reaches the protocol, whose messages need their own scopes (the MCP endpoint: each
# tool call its tool's, read from the JSON-RPC body; tests/connectors/mcp/test_mcp_tools.py).
PROTOCOL = dict.fromkeys(
    [("GET", "/connectors/mcp"), ("POST", "/connectors/mcp"), ("DELETE", "/connectors/mcp")],
    "the MCP endpoint (Streamable HTTP): a tool call needs its tool's scope",
) | {("POST", "/connectors/a2a"): "the A2A endpoint (JSON-RPC): each method needs its REST route's scope"}
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
    ("GET", "/connectors/mcp/"): "what the connector offers, like /openapi.json",
    ("GET", "/connectors/mcp/docs"): "the MCP guide",
    ("GET", "/connectors/a2a/"): "what the connector offers, like /openapi.json",
    ("GET", "/connectors/a2a/docs"): "the A2A guide",
    ("GET", "/connectors/a2a/.well-known/agent-card.json"): "the A2A agent card: public, as A2A clients expect",
}


@pytest.fixture(autouse=True)
def loopback_hooks(set_hub_env):
    """Hooks here point at 127.0.0.1 (no worker runs, nothing is sent)."""
    set_hub_env(HUB_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8")


HOOK_URL = "http://127.0.0.1:9/hook"


def test_only_the_listed_routes_go_without_a_scope(app):
    found = {route.key: route for route in routes(app)}
    public = {key for key, route in found.items() if route.required is UNSET}
    assert public == set(PUBLIC), "a route without Blueprint.auth must be listed in PUBLIC with its reason"
    unscoped = {key for key, route in found.items() if route.required is None}
    assert unscoped == set(ANY_USER_CREDENTIAL) | set(FIRST_PARTY) | set(PROTOCOL), (
        "a route without a scope must be listed"
    )
    assert {key for key, route in found.items() if route.first_party} == set(FIRST_PARTY)


def test_reading_never_needs_a_write_scope(app):
    from hub.auth import needed_scopes

    for route in routes(app):
        if route.method == "GET" and route.required not in (UNSET, None, WORKER_SCOPE):
            assert all(scope.endswith(":read") for scope in needed_scopes(route.required)), route


@pytest.fixture
def callers(app, make_user):
    """One person's credentials, real objects to address, and a worker token."""
    from hub.auth import SCOPES
    from hub.db import db
    from hub.services import accounts, oauth, orgs, workers

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
        orgs.create_org(accounts.get_user("ada"), "Ada's team", slug="ada-team")
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
        "org": "ada-team",
        "username": "ada",
        "invitation_id": "inv_none",
        "token_id": "wtok_none",
        "link_id": "shl_none",
    }
    return {
        "full": full,
        "key": key,
        "worker": worker,
        "app": ApiUser(full.client, "ada", app_token, None),
        "params": params,
    }


def call(caller, route, params):
    return caller.client.open(
        route.url(params),
        method=route.method,
        headers=caller.headers,
        json={} if route.method in ("POST", "PUT", "PATCH") else None,
    )


def refused(response, code):
    assert response.status_code == 403, response.json
    assert response.json["code"] == code, response.json
    return True


def test_each_route_refuses_a_credential_without_its_scope(app, callers, subtests):
    from hub.auth import SCOPES, needed_scopes

    params, full = callers["params"], callers["full"]

    def state():
        task = full.get(f"/api/v1/tasks/{params['task_id']}").json["status"]
        return task, full.get(f"/api/v1/hooks/{params['hook_id']}").json["status"]

    for route in routes(app):
        if route.required is UNSET:
            continue
        with subtests.test(route.method + " " + route.rule):
            before = state()
            required, needed = route.required, needed_scopes(route.required)
            if required == WORKER_SCOPE:
                # User credentials, with every scope or none, never reach the worker API.
                assert refused(call(full, route, params), "wrong_credential")
                assert refused(call(callers["key"]([]), route, params), "wrong_credential")
                assert call(callers["worker"], route, params).status_code not in (401, 403)
                continue
            assert refused(call(callers["worker"], route, params), "wrong_credential")
            no_scopes = call(callers["key"]([]), route, params)
            if route.key in PROTOCOL:
                assert no_scopes.status_code not in (401, 403), no_scopes.get_data(as_text=True)
            elif route.key in ANY_USER_CREDENTIAL:
                assert no_scopes.status_code == 200, no_scopes.json
            elif route.key in FIRST_PARTY:
                assert refused(call(callers["app"], route, params), "insufficient_scope")
                assert no_scopes.status_code not in (401, 403), no_scopes.json
            else:
                assert refused(no_scopes, "insufficient_scope")
                lacking = call(callers["key"]([s for s in SCOPES if s not in needed]), route, params)
                assert refused(lacking, "insufficient_scope")
                assert all(f"'{s}'" in lacking.json["message"] for s in needed), lacking.json
                assert state() == before  # what was refused changed nothing (say, a cancel or a DELETE)
                if isinstance(required, str):  # the scope alone is enough (a hook's own event scope is checked after)
                    assert call(callers["key"]([required]), route, params).status_code not in (401, 403)
            allowed = call(full, route, params)
            assert allowed.status_code not in (401, 403), allowed.json
