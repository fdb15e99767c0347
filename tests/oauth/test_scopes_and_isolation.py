"""OAuth access tokens carry the scopes the user consented to; each route
refuses a token without its scope, and nobody reaches another user's
objects."""

import pytest
from support.forms import Browser
from support.oauth import connect, redirect_params
from support.routes import routes


def oauth_token(hub, client, browser, username, password, scope):
    page = connect(hub, browser, client, username, password, scope=scope)
    code = redirect_params(page)["code"]
    response = hub.exchange(client, code)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def alice(hub):
    # Enterprise: no request or concurrent-task limit gets in the way of the many calls here.
    username, password = hub.create_user("alice", tier="enterprise")
    client = hub.create_client()  # may ask for every scope
    browser = Browser(hub)
    return hub, client, browser, username, password


def test_each_route_refuses_a_token_without_its_scope(alice):
    from hub.auth import SCOPES

    hub, client, browser, username, password = alice
    full = oauth_token(hub, client, browser, username, password, " ".join(SCOPES))["access_token"]
    task = hub.api("/api/v1/tasks", full, "POST", json={"title": "t", "prompt": "p"}).json()
    hub.api("/api/v1/messages", full, "POST", json={"message": "m", "conversation_id": "c1"})
    # Ids of objects these routes need not find: the scope is checked first, and a 404 is no refusal.
    params = {"task_id": task["id"], "conversation_id": "c1", "org": "no-org", "username": "nobody"}
    params |= {"invitation_id": "inv_none", "token_id": "wtok_none", "link_id": "shl_none"}
    # Every route that needs one scope, read from the app (tests/auth/test_scopes.py covers the rest).
    scoped = [route for route in routes(hub.app) if route.required in SCOPES]
    for scope in SCOPES:
        lacking = oauth_token(hub, client, browser, username, password, " ".join(s for s in SCOPES if s != scope))
        assert scope not in lacking["scope"].split()
        for route in scoped:
            body = {} if route.method == "POST" else None
            response = hub.api(route.url(params), lacking["access_token"], route.method, json=body)
            if route.required == scope:
                assert response.status_code == 403, (route, response.text)
                assert response.json()["code"] == "insufficient_scope"
                assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
            else:
                assert response.status_code not in (401, 403), (route, scope, response.text)


def test_a_token_only_gets_scopes_the_client_may_ask_for(hub):
    username, password = hub.create_user("alice")
    client = hub.create_client("--scopes", "tasks:read")
    tokens = oauth_token(hub, client, Browser(hub), username, password, "tasks:read tasks:write")
    assert tokens["scope"] == "tasks:read"
    assert (
        hub.api("/api/v1/tasks", tokens["access_token"], "POST", json={"title": "t", "prompt": "p"}).status_code == 403
    )
    unknown = connect(hub, Browser(hub), client, username, password, scope="admin:everything")
    assert redirect_params(unknown)["error"] == "invalid_scope"


def test_another_users_objects_answer_404(alice):
    hub, client, browser, username, password = alice
    a = oauth_token(
        hub,
        client,
        browser,
        username,
        password,
        "tasks:read tasks:write messages:write messages:read codebases:read codebases:write",
    )["access_token"]
    b_user, b_password = hub.create_user("bob")
    b = oauth_token(
        hub,
        client,
        Browser(hub),
        b_user,
        b_password,
        "tasks:read tasks:write messages:write messages:read codebases:read codebases:write",
    )["access_token"]

    task = hub.api("/api/v1/tasks", a, "POST", json={"title": "alice's", "prompt": "p"}).json()
    hub.api("/api/v1/messages", a, "POST", json={"message": "private", "conversation_id": "thread-1"})
    codebase = hub.api("/api/v1/codebases", a, "POST", json={"name": "secret-repo"}).json()

    assert hub.api(f"/api/v1/tasks/{task['id']}", b).status_code == 404
    assert hub.api(f"/api/v1/tasks/{task['id']}/cancel", b, "POST").status_code == 404
    assert hub.api("/api/v1/conversations/thread-1/messages", b).status_code == 404
    assert hub.api("/api/v1/tasks", b).json() == []
    assert [c["id"] for c in hub.api("/api/v1/codebases", b).json()] == ["global"]
    # Alice's codebase id means nothing in Bob's account: refused, never attached.
    refused = hub.api("/api/v1/tasks", b, "POST", json={"title": "t", "prompt": "p", "codebase_id": codebase["id"]})
    assert refused.status_code == 422 and "codebase_id" in refused.json()["errors"]
    # Bob posting to the same thread id starts his own conversation.
    hub.api("/api/v1/messages", b, "POST", json={"message": "mine", "conversation_id": "thread-1"})
    texts = [m["content"] for m in hub.api("/api/v1/conversations/thread-1/messages", b).json()]
    assert "mine" in texts and "private" not in texts
    # And Alice still sees only her own.
    assert hub.api(f"/api/v1/tasks/{task['id']}", a).json()["title"] == "alice's"
    assert hub.api("/api/v1/me", b).json()["username"] == "bob"
