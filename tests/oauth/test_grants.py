"""Connected apps (/api/v1/me/grants) are the person's to manage: an app's
OAuth token can neither list nor disconnect apps, and disconnecting an app
ends its tokens and deletes the hooks they subscribed, so its Zaps stop
receiving data."""

import pytest
from support.forms import Browser
from support.oauth import connect, redirect_params

pytestmark = pytest.mark.usefixtures("webhook_settings")  # hooks may point at this machine

EVERY_SCOPE = "tasks:read tasks:write messages:write messages:read codebases:read codebases:write"


def access_token(hub, client, username, password):
    page = connect(
        hub, Browser(hub), client, username, password, scope=EVERY_SCOPE, redirect_uri=client["redirect_uris"][0]
    )
    issued = hub.exchange(client, redirect_params(page)["code"])
    assert issued.status_code == 200, issued.text
    return issued.json()["access_token"]


@pytest.fixture
def two_apps(hub):
    """Alice with an API key, and two connected apps, each with a token holding every scope."""
    username, password = hub.create_user("alice", tier="enterprise")
    from hub.services import accounts

    with hub.app.app_context():
        _key, key = accounts.create_api_key(username)
    zapier = hub.create_client()
    other = hub.create_client(name="Other", redirect_uri="https://other.example/cb")
    return (
        key,
        (zapier, access_token(hub, zapier, username, password)),
        (other, access_token(hub, other, username, password)),
    )


def test_an_apps_token_can_neither_list_nor_disconnect_apps(hub, two_apps):
    key, (zapier, zapier_token), (other, other_token) = two_apps
    for token in (zapier_token, other_token):
        for method, path in (
            ("GET", "/api/v1/me/grants"),
            ("DELETE", f"/api/v1/me/grants/{zapier['client_id']}"),
            ("DELETE", f"/api/v1/me/grants/{other['client_id']}"),
        ):
            refused = hub.api(path, token, method)
            assert refused.status_code == 403, (method, path, refused.text)
            assert refused.json()["code"] == "insufficient_scope"
            assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    # Nothing was disconnected: both apps still work, and the person sees both.
    assert hub.api("/api/v1/me", zapier_token).status_code == 200
    assert hub.api("/api/v1/me", other_token).status_code == 200
    listed = hub.api("/api/v1/me/grants", key)
    assert listed.status_code == 200
    assert {g["client_id"] for g in listed.json()} == {zapier["client_id"], other["client_id"]}


def test_disconnecting_an_app_deletes_the_hooks_its_tokens_made(hub, two_apps, receiver, start_delivery_worker):
    key, (zapier, zapier_token), (other, other_token) = two_apps

    def subscribe(token, path):
        made = hub.api("/api/v1/hooks", token, "POST", json={"event": "task.created", "target_url": receiver.url(path)})
        assert made.status_code == 201, made.text
        return made.json()["id"]

    zaps = subscribe(zapier_token, "/zap")
    others = subscribe(other_token, "/other")
    mine = subscribe(key, "/mine")

    disconnected = hub.api(f"/api/v1/me/grants/{zapier['client_id']}", key, "DELETE")
    assert disconnected.status_code == 200 and disconnected.json() == {"id": zapier["client_id"], "revoked": True}
    assert hub.api("/api/v1/me", zapier_token).status_code == 401
    assert [h["id"] for h in hub.api("/api/v1/hooks", key).json()] == [mine, others]
    assert hub.api(f"/api/v1/hooks/{zaps}", key).json()["status"] == "deleted"
    assert [g["client_id"] for g in hub.api("/api/v1/me/grants", key).json()] == [other["client_id"]]

    # The next event reaches the hooks that remain, and not the disconnected app's.
    start_delivery_worker()
    assert hub.api("/api/v1/tasks", key, "POST", json={"title": "t", "prompt": "p"}).status_code == 201
    receiver.wait_for(1, "/mine")
    receiver.wait_for(1, "/other")
    assert receiver.received("/zap") == []
