"""The Zapier-style connection, end to end over HTTP against a real hub."""

import httpx
from support.forms import Browser, Forms
from support.oauth import PKCE_VERIFIER, ZAPIER_REDIRECT, authorize_url, connect, redirect_params


def test_zapier_flow_with_a_local_account(hub):
    username, password = hub.create_user("alice", email="alice@example.com")
    client = hub.create_client()  # the admin registers Zapier with the CLI
    assert client["client_id"] and client["client_secret"].startswith("cts_")
    browser = Browser(hub)

    # Zapier sends the user to /oauth/authorize: not signed in, so the sign-in page.
    page = browser.go(authorize_url(hub, client["client_id"]))
    assert page.status_code == 200 and urlpath(page) == "/login"
    form = Forms(page.text).with_field("username")
    assert {"username", "password", "csrf_token"} <= set(form["fields"])

    wrong = browser.sign_in(page, username, "not it")
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text

    consent = browser.sign_in(page, username, password)
    assert consent.status_code == 200 and urlpath(consent) == "/oauth/authorize"
    assert "Zapier" in consent.text and 'id="unverified"' not in consent.text  # the admin registered it
    for words in ("List and view your tasks", "Create and cancel tasks", "Send messages", "List your codebases"):
        assert words in consent.text
    assert list(Forms(consent.text).with_field("decision")["buttons"]) == [
        ("decision", "allow"),
        ("decision", "deny"),
    ]

    back = browser.submit(consent, button=("decision", "allow"))
    assert back.headers["location"].startswith(ZAPIER_REDIRECT + "?")
    params = redirect_params(back)
    assert params["state"] == "st4te" and params["iss"] == hub.base  # RFC 9207

    # Code for tokens: form-encoded, secret in the body, no Authorization header.
    issued = hub.token(
        grant_type="authorization_code",
        code=params["code"],
        redirect_uri=ZAPIER_REDIRECT,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
    )
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    assert {"access_token", "refresh_token", "expires_in", "scope"} <= set(tokens)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert set(tokens["scope"].split()) == {"tasks:read", "tasks:write", "messages:write", "codebases:read"}
    assert issued.headers["cache-control"] == "no-store"

    me = hub.api("/api/v1/me", tokens["access_token"])
    assert me.status_code == 200 and me.json()["username"] == "alice"
    created = hub.api("/api/v1/tasks", tokens["access_token"], "POST", json={"title": "t", "prompt": "p"})
    assert created.status_code == 201

    # Refresh rotates both tokens.
    refreshed = hub.refresh(client, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"] and new["access_token"] != tokens["access_token"]
    assert hub.api("/api/v1/me", new["access_token"]).status_code == 200

    # The old refresh token again: 400 invalid_grant, and the whole family dies.
    reused = hub.refresh(client, tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    dead = hub.api("/api/v1/me", new["access_token"])
    assert dead.status_code == 401 and 'error="invalid_token"' in dead.headers["www-authenticate"]
    again = hub.refresh(client, new["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    # Connecting again: the same scopes were granted, so no consent page.
    second = browser.go(authorize_url(hub, client["client_id"], state="two"))
    assert redirect_params(second)["state"] == "two"


def test_client_secret_basic_and_deny(hub):
    username, password = hub.create_user("alice")
    client = hub.create_client()
    browser = Browser(hub)
    page = browser.go(authorize_url(hub, client["client_id"]))
    consent = browser.sign_in(page, username, password)
    denied = redirect_params(browser.submit(consent, button=("decision", "deny")))
    assert denied["error"] == "access_denied" and denied["iss"] == hub.base and "code" not in denied

    code = redirect_params(connect(hub, browser, client, username, password))["code"]
    response = httpx.post(
        hub.url("/oauth/token"),
        auth=(client["client_id"], client["client_secret"]),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": ZAPIER_REDIRECT,
            "code_verifier": PKCE_VERIFIER,
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    wrong_secret = httpx.post(
        hub.url("/oauth/token"),
        auth=(client["client_id"], "cts_wrong"),
        data={"grant_type": "refresh_token", "refresh_token": response.json()["refresh_token"]},
        timeout=30,
    )
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"


def test_connected_apps_can_be_listed_and_disconnected(hub):
    username, password = hub.create_user("alice")
    client = hub.create_client()
    browser = Browser(hub)
    code = redirect_params(connect(hub, browser, client, username, password))["code"]
    tokens = hub.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=ZAPIER_REDIRECT,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
    ).json()
    from hub.services import accounts

    with hub.app.app_context():  # the person's own key: apps never manage apps (tests/oauth/test_grants.py)
        _key, key = accounts.create_api_key(username)
    grants = hub.api("/api/v1/me/grants", key).json()
    assert [(g["id"], g["name"]) for g in grants] == [(client["client_id"], "Zapier")]
    assert set(grants[0]["scopes"]) == set(tokens["scope"].split())

    assert hub.api("/api/v1/me/grants/cli_nope", key, "DELETE").status_code == 404
    gone = hub.api(f"/api/v1/me/grants/{client['client_id']}", key, "DELETE")
    assert gone.status_code == 200 and gone.json() == {"id": client["client_id"], "revoked": True}
    assert hub.api("/api/v1/me", tokens["access_token"]).status_code == 401
    assert hub.refresh(client, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    # Disconnected: the next connection asks for consent again.
    page = browser.go(authorize_url(hub, client["client_id"]))
    assert page.status_code == 200 and "decision" in page.text


def urlpath(response):
    return response.url.path
